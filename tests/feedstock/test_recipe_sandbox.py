"""Recipes whose jinja loops, grows or hides a YAML bomb fail with their reason, within
their limits, and leave the calling process as it was."""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from pathlib import Path

import pytest

from migrator.feedstock import FeedstockError
from migrator.feedstock.recipe_outputs import RecipeError, recipe_outputs
from migrator.feedstock.sandbox import DEFAULT_LIMITS, LimitExceeded, Limits, run_limited

FAST = Limits(memory=512 << 20, cpu_seconds=2, wall_seconds=5.0)
LOOP = (b"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}\n"
        b"package:\n  name: looping\n")
GROW = (b"{% set x = [] %}{% for a in range(100000) %}{% for b in range(100000) %}"
        b"{{ x.append(a ~ '-padding-padding-padding-padding-padding-padding-' ~ b) }}"
        b"{% endfor %}{% endfor %}\npackage:\n  name: growing\n")
HUGE = b"{% set s = 'x' * 900000000 %}{{ s | length }}\npackage:\n  name: huge\n"
PLAIN = {"recipe/meta.yaml": b"{% set name = 'fine' %}\npackage:\n  name: {{ name }}\n"}


def bomb_recipe() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\npackage:\n  name: bomb\n").encode()


def parent_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def outputs_failure(text: bytes, limits: Limits) -> tuple[RecipeError, float]:
    started = time.monotonic()
    with pytest.raises(RecipeError) as info:
        recipe_outputs({"recipe/meta.yaml": text}, limits=limits)
    return info.value, time.monotonic() - started


def test_the_default_limits() -> None:
    assert DEFAULT_LIMITS == Limits(memory=512 << 20, cpu_seconds=20, wall_seconds=30.0)


def test_a_jinja_loop_stops_at_the_cpu_limit() -> None:
    before = parent_peak_mib()
    error, wall = outputs_failure(LOOP, FAST)
    assert str(error) == "reading the recipe used more than 2 s of CPU time"
    assert isinstance(error.__cause__, LimitExceeded)
    usage = error.__cause__.usage
    assert 1.5 < wall < FAST.wall_seconds and usage.peak_rss < FAST.memory
    assert parent_peak_mib() - before < 20
    assert recipe_outputs(PLAIN).names == ("fine",)  # the rest of the run goes on


def test_a_growing_recipe_stops_at_the_memory_limit() -> None:
    limits = Limits(memory=160 << 20, cpu_seconds=20, wall_seconds=25.0)
    before = parent_peak_mib()
    error, wall = outputs_failure(GROW, limits)
    assert str(error) == "reading the recipe needed more than 160 MiB of memory"
    usage = error.__cause__.usage  # type: ignore[union-attr]
    assert 64 << 20 < usage.peak_rss <= 160 << 20 and wall < limits.wall_seconds
    assert parent_peak_mib() - before < 20
    assert recipe_outputs(PLAIN).names == ("fine",)


def test_one_huge_string_stops_at_the_memory_limit() -> None:
    error, wall = outputs_failure(HUGE, FAST)
    assert str(error) == "reading the recipe needed more than 512 MiB of memory"
    assert wall < 2


def test_an_alias_bomb_in_a_recipe_is_refused() -> None:
    error, wall = outputs_failure(bomb_recipe(), FAST)
    assert "expands to more than" in str(error) and wall < 2


def test_the_wall_clock_limit_kills_a_child_that_waits() -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        run_limited(time.sleep, 30, limits=Limits(wall_seconds=1.0))
    assert str(info.value) == "took longer than 1 s"
    assert 1.0 <= info.value.usage.wall_seconds < 3 and time.monotonic() - started < 3


def test_the_child_holds_neither_the_callers_environment_nor_its_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSTOCK_TOKEN", "f" * 64)
    assert run_limited(os.getenv, "FEEDSTOCK_TOKEN") is None
    assert run_limited(os.getenv, "PATH") is None
    # a fork of the server, not of this process: nothing of this process's memory
    server = run_limited(os.getppid)
    assert server != os.getpid()
    environ = Path(f"/proc/{server}/environ").read_bytes().split(b"\0")
    assert sorted(e.split(b"=")[0] for e in environ if e) == [b"LC_ALL", b"PATH", b"PYTHONPATH"]
    cmdline = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1:3] == [b"-m", b"migrator.feedstock.sandbox_server"]
    assert cmdline[3].isdigit() and cmdline[4:] == [b""]  # only a descriptor number


def test_a_reply_is_plain_data_never_a_pickle() -> None:
    assert run_limited(os.path.join, "a", "b") == "a/b"
    with pytest.raises(FeedstockError, match="the result is not plain data"):
        run_limited(Path.cwd)  # a PosixPath would need unpickling


def test_errors_the_reader_raises_come_back_as_they_were() -> None:
    with pytest.raises(RecipeError, match="jinja error on line 1"):
        recipe_outputs({"recipe/meta.yaml": b"{% if %}\n"})
    with pytest.raises(RecipeError, match="no recipe"):
        recipe_outputs({})


def test_threads_and_forked_processes_each_get_their_children() -> None:
    results: list[tuple[str, ...]] = []
    threads = [threading.Thread(target=lambda: results.append(recipe_outputs(PLAIN).names))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [("fine",)] * 6
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked from a process whose server is already running
        try:
            ok = recipe_outputs(PLAIN).names == ("fine",)
            os.write(write, b"ok" if ok else b"wrong")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"ok"
    os.close(read)


def test_the_cost_of_a_call_stays_small() -> None:
    recipe_outputs(PLAIN)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        recipe_outputs(PLAIN)
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.1
