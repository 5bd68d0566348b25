"""The entry point's process settings, and token hashes that give their memory back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HASHING = """
import gc, sys
from concurrent.futures import ThreadPoolExecutor
from migrator.core import process_setup
from migrator.core.secret import Secret
from migrator.registries.token_hashing import hash_token
if sys.argv[1] == "settled":
    process_setup.settle()
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
hash_token(Secret.new_token())
before = rss()
with ThreadPoolExecutor(4) as pool:
    list(pool.map(lambda _: hash_token(Secret.new_token()), range(16)))
print(rss() - before, gc.get_freeze_count() > 0)
"""


def _kept_mib(mode: str) -> tuple[int, bool]:
    out = subprocess.run([sys.executable, "-c", HASHING, mode], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), out[1] == "True"


def test_settling_freezes_what_the_imports_made() -> None:
    assert _kept_mib("settled")[1] and not _kept_mib("plain")[1]


@pytest.mark.parametrize("mode", ["settled", "plain"])
def test_hashing_threads_keep_no_work_areas(mode: str) -> None:
    # sixteen hashes on four threads: an allocator that kept each thread's 16 MiB
    # work area would hold 64 MiB more after them
    assert _kept_mib(mode)[0] < 8


def test_a_forked_child_hashes_on_threads_of_its_own() -> None:
    code = """
import os, sys
from migrator.core.secret import Secret
from migrator.registries.token_hashing import hash_token
from migrator.registries.token_verify import matches
token = Secret.new_token()
entry = hash_token(token)  # the parent's hashing threads exist now
pid = os.fork()
if pid == 0:
    os._exit(0 if matches(token, entry) else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60,
                         capture_output=True, text=True).stdout
    assert out.split() == ["0"]
