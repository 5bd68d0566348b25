"""Copies at scale: names claimed in batches off the request path, outputs published in
groups, each package's bytes read once and linked from staging to production."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from migrator.channels import directory, local_place, package
from migrator.channels.directory import LocalChannel
from migrator.channels.dists import Dist, parse_dist
from migrator.channels.local_store import identity_of
from migrator.core.git import git
from migrator.registries import outputs_registry as registry
from migrator.service import output_checks
from migrator.service.claim_log import ClaimLog
from migrator.service.core import Service
from testing.outputs_support import ROOT, body, environ_without_token, listed, stage
from testing.runs import HARNESS
from testing.service_support import LightEnv, add_token, light_env, set_outputs

GLOB = {"gadget": ["widget-*"]}
T = TypeVar("T")


def commits(env: LightEnv) -> int:
    return int(git("rev-list", "--count", "HEAD",
                   cwd=env.forge.git_dir("feedstock-outputs")).strip())


def outputs(staged: list[tuple[Dist, str]]) -> dict[str, str]:
    return {dist.key: sha for dist, sha in staged}


def kinds(report: Any) -> dict[str, str]:
    return {key: found.kind.value for key, found in report.results.items()}


def channel(env: LightEnv, which: str) -> LocalChannel:
    found = getattr(env.service.channels, which)
    assert isinstance(found, LocalChannel)
    return found


def test_many_requests_make_one_registry_commit_after_their_answers(tmp_path: Path) -> None:
    env = light_env(tmp_path, claim_delay=3600.0)  # only `flush` commits here
    token, _ = add_token(env, "gadget")
    set_outputs(env, {}, allowlist=GLOB)
    before = commits(env)
    staged = [stage(env.service, tmp_path, name=f"widget-{i}") for i in range(6)]
    reports = [env.service.copy(body("gadget", outputs(staged[i:i + 2])), token)
               for i in range(0, 6, 2)]

    assert [set(kinds(r).values()) for r in reports] == [{"copied"}] * 3
    # answered before any commit: the claims wait in the journal, and count already
    assert commits(env) == before
    assert len(env.service.journal.claims.pending()) == 3
    assert registry.registered(env.forge, "widget-0") is None
    assert env.service.names.snapshot().registered("widget-0") == ["gadget"]

    assert env.service.flush_claims() == 3
    assert commits(env) == before + 1
    for i in range(6):
        assert registry.registered(env.forge, f"widget-{i}") == ["gadget"]
    assert env.service.journal.claims.pending() == {}
    assert env.service.flush_claims() == 0 and commits(env) == before + 1


def test_a_claim_binds_before_it_is_committed(tmp_path: Path) -> None:
    """With `auto_register_all`, a name nobody holds goes to its first publisher; the
    next feedstock is refused at once, not only once the claim reaches the registry."""
    env = light_env(tmp_path, claim_delay=3600.0)
    first, _ = add_token(env, "gadget")
    second, _ = add_token(env, "sprocket")
    set_outputs(env, {}, config={"outputs_path": "outputs", "shard_level": 3,
                                 "shard_fill": "z", "auto_register_all": True})
    old, old_sha = stage(env.service, tmp_path, name="free", version="1")
    new, new_sha = stage(env.service, tmp_path, name="free", version="2")
    assert kinds(env.service.copy(body("gadget", {old.key: old_sha}), first)) == {
        old.key: "copied"}
    refused = env.service.copy(body("sprocket", {new.key: new_sha}), second)
    assert kinds(refused) == {new.key: "not_owner"}
    assert "registered to gadget-feedstock" in refused.results[new.key].detail
    assert registry.registered(env.forge, "free") is None


def test_claims_are_committed_in_the_background(tmp_path: Path) -> None:
    env = light_env(tmp_path, claim_delay=0.05)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {}, allowlist=GLOB)
    dist, sha = stage(env.service, tmp_path, name="widget-bg")
    assert kinds(env.service.copy(body("gadget", {dist.key: sha}), token)) == {
        dist.key: "copied"}
    deadline = time.monotonic() + 30
    while env.service.journal.claims.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert env.service.journal.claims.pending() == {}
    assert registry.registered(env.forge, "widget-bg") == ["gadget"]
    env.service.close()


def test_a_crash_between_answer_and_commit_is_committed_by_recover(tmp_path: Path) -> None:
    env = light_env(tmp_path)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {}, allowlist=GLOB)
    dist, sha = stage(env.service, tmp_path, name="widget-crash")
    before = commits(env)
    run_env = environ_without_token()
    run_env.update(FEEDSTOCK_TOKEN=token.reveal(), PYTHONUNBUFFERED="1",
                   MIGRATOR_KILL_AT="outputs-claims-commit:1",
                   PYTHONPATH=os.pathsep.join([str(HARNESS), str(ROOT)]))
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "outputs", "copy", "--forge", str(env.forge.root),
         "--feedstock", "gadget-feedstock", "--no-comment", f"{dist.key}={sha}"],
        env=run_env, capture_output=True, text=True, timeout=120)

    assert proc.returncode == -signal.SIGKILL, proc.stderr
    answer = json.loads(proc.stdout)  # the answer went out; the commit did not
    assert answer["results"][dist.key]["result"] == "copied"
    assert commits(env) == before
    assert registry.registered(env.forge, "widget-crash") is None
    restarted = Service(forge=env.forge, channels=env.service.channels,
                        state_dir=env.service.state_dir, claim_delay=3600.0)
    assert list(restarted.journal.claims.pending().values())[0]["names"] == ["widget-crash"]
    assert restarted.names.snapshot().registered("widget-crash") == ["gadget"]

    assert restarted.recover() == []  # no request was left unfinished
    assert commits(env) == before + 1
    assert registry.registered(env.forge, "widget-crash") == ["gadget"]
    assert restarted.journal.claims.pending() == {}


def test_requests_arriving_together_are_published_together(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = light_env(tmp_path, claim_delay=3600.0)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {f"part{i}": ["gadget"] for i in range(4)})
    staged = [stage(env.service, tmp_path, name=f"part{i}") for i in range(4)]
    production, publisher = channel(env, "production"), env.service.publisher
    renders: list[int] = []
    others: dict[str, list[str]] = {"staging": [], "quarantine": []}
    syncs: list[Path] = []
    original = production.index.render
    first_is_rendering = threading.Event()

    def render(subdir: str) -> None:
        if not renders:  # hold the first group until the three others queue behind it
            first_is_rendering.set()
            deadline = time.monotonic() + 30
            while publisher.group.waiting() < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        renders.append(publisher.group.waiting())
        original(subdir)

    monkeypatch.setattr(production.index, "render", render)
    for name, calls in others.items():
        monkeypatch.setattr(channel(env, name).index, "render", calls.append)
    sync = local_place.sync_dir

    def counted_sync(folder: Path) -> None:
        syncs.append(folder)
        sync(folder)

    monkeypatch.setattr(local_place, "sync_dir", counted_sync)

    def send(item: tuple[Any, str]) -> None:
        report = env.service.copy(body("gadget", {item[0].key: item[1]}), token)
        assert kinds(report) == {item[0].key: "copied"}

    groups = publisher.group.groups
    threads = [threading.Thread(target=send, args=(item,)) for item in staged]
    threads[0].start()
    assert first_is_rendering.wait(30)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()

    assert publisher.group.groups - groups == 2  # the first request, then the other three
    assert renders == [3, 0]  # one repodata update per group
    assert syncs == [production.root / "noarch"] * 2  # and one sync
    assert others == {"staging": [], "quarantine": []}  # no repodata for those
    assert listed(production) == {dist.fn for dist, _ in staged}
    assert listed(channel(env, "staging")) == set() == listed(channel(env, "quarantine"))


def test_bytes_are_read_once_and_linked_through(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    env = light_env(tmp_path)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {"gadget": ["gadget"], "libgadget": ["gadget"]})
    staged = [stage(env.service, tmp_path, name="gadget", fmt=".tar.bz2"),
              stage(env.service, tmp_path, name="libgadget")]
    staging, production = channel(env, "staging"), channel(env, "production")
    inodes = {dist.fn: staging.path(dist).stat().st_ino for dist, _ in staged}
    reads: list[str] = []

    def counting(name: str, work: Callable[..., T]) -> Callable[..., T]:
        def counted(*args: Any) -> T:
            reads.append(name)
            return work(*args)
        return counted

    for module in (package, directory):
        monkeypatch.setattr(module, "hash_file", counting(module.__name__, module.hash_file))
    monkeypatch.setattr(local_place, "_copy", counting("copy", local_place._copy))

    report = env.service.copy(body("gadget", outputs(staged)), token)

    assert set(kinds(report).values()) == {"copied"}
    assert reads == [package.__name__] * 2  # the one pass of `inspect_package`, per file
    for dist, _ in staged:
        assert production.path(dist).stat().st_ino == inodes[dist.fn]
        assert not staging.path(dist).exists()


def test_across_file_systems_bytes_are_copied_and_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"x" * 1000)
    held = identity_of(src)

    def no_link(*args: Any) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    assert local_place.place(src, tmp_path / "out" / "a.bin", identity=held, sha256=good) == good
    assert (tmp_path / "out" / "a.bin").read_bytes() == src.read_bytes()
    with pytest.raises(OSError, match="changed while it was copied"):
        local_place.place(src, tmp_path / "out" / "b.bin", identity=held, sha256="0" * 64)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.bin"]


def test_bytes_changed_after_their_check_are_not_linked(tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"checked")
    held = identity_of(src)
    with open(src, "r+b") as handle:  # written in place, as a channel never does
        handle.write(b"CHANGED")
    os.utime(src, ns=(held.mtime_ns + 10**9, held.mtime_ns + 10**9))
    with pytest.raises(OSError, match="changed after it was checked"):
        local_place.place(src, tmp_path / "out" / "a.bin", identity=held, sha256=None)
    assert list((tmp_path / "out").iterdir()) == []


def test_ownership_is_read_from_memory(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    env = light_env(tmp_path, registry_max_age=3600.0)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {f"lib{i}": ["gadget"] for i in range(8)})
    staged = [stage(env.service, tmp_path, name=f"lib{i}") for i in range(8)]
    reads: list[str] = []
    reading = env.forge.read_file

    def read_file(repo: str, path: str, ref: str | None = None) -> bytes | None:
        reads.append(repo)
        return reading(repo, path, ref)

    monkeypatch.setattr(env.forge, "read_file", read_file)
    spawned: list[Any] = []
    popen = subprocess.Popen

    class Counted(popen):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            spawned.append(args)
            super().__init__(args, *rest, **kw)

    env.service.names.snapshot()  # the clone, made once
    monkeypatch.setattr(subprocess, "Popen", Counted)
    for i in range(0, 8, 4):
        report = env.service.copy(body("gadget", outputs(staged[i:i + 4])), token)
        assert set(kinds(report).values()) == {"copied"}

    assert "feedstock-outputs" not in reads
    assert len(spawned) <= 2  # at most the token registry's read, per request
    assert env.service.names.fetches == 1


def test_bytes_changed_while_checked_are_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env = light_env(tmp_path)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {"gadget": ["gadget"]})
    dist, sha = stage(env.service, tmp_path, name="gadget")
    inspect = output_checks.inspect_package

    def rewritten_meanwhile(path: Path, checked: Dist) -> Any:
        facts = inspect(path, checked)
        mtime = path.stat().st_mtime_ns + 10**9  # written in place, as a channel never does
        os.utime(path, ns=(mtime, mtime))
        return facts

    monkeypatch.setattr(output_checks, "inspect_package", rewritten_meanwhile)
    report = env.service.copy(body("gadget", {dist.key: sha}), token)
    assert kinds(report) == {dist.key: "hash_mismatch"}
    assert "while it was being checked" in report.results[dist.key].detail
    assert listed(channel(env, "production")) == set()
    assert not channel(env, "quarantine").path(dist).exists()


def test_a_token_registered_a_moment_ago_is_accepted(tmp_path: Path) -> None:
    """Token files are kept in memory for a few seconds; a refusal reads them again."""
    env = light_env(tmp_path, registry_max_age=3600.0)
    first, entry = add_token(env, "gadget")
    set_outputs(env, {"gadget": ["gadget"]})
    dist, sha = stage(env.service, tmp_path, name="gadget")
    missing = {"noarch/gadget-9-0.conda": "7" * 64}
    assert kinds(env.service.copy(body("gadget", missing), first)) == {
        "noarch/gadget-9-0.conda": "staging_missing"}  # accepted: the file is read
    reads = env.service.token_files.reads
    second, _ = add_token(env, "gadget", keep=[entry])
    assert kinds(env.service.copy(body("gadget", {dist.key: sha}), second)) == {
        dist.key: "copied"}
    assert env.service.token_files.reads == reads + 1  # read again once, to accept it
    assert kinds(env.service.copy(body("gadget", missing), first)) == {
        "noarch/gadget-9-0.conda": "staging_missing"}
    assert env.service.token_files.reads == reads + 1  # held since


def test_a_claim_line_torn_by_a_crash_spoils_only_itself(tmp_path: Path) -> None:
    log = ClaimLog(tmp_path)
    log.record("a" * 32, "gadget", ["widget-a"])
    with open(log.path, "a") as handle:
        handle.write('{"id": "bbbb", "feedst')  # a crash mid-line
    log.record("c" * 32, "gadget", ["widget-c"])
    assert [c["names"] for c in log.pending().values()] == [["widget-a"], ["widget-c"]]
    log.drop(["a" * 32])
    assert list(log.pending()) == ["c" * 32]


def test_an_updated_repodata_is_the_one_a_full_render_makes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renders start from the last one (only changed records are looked at); whatever
    the changes, the result is byte for byte what rendering everything makes."""
    from migrator.channels import local_records
    from testing.build_package import build_package

    monkeypatch.setattr(local_records, "FOLD_AT", 4)  # fold on the way, too
    root = tmp_path / "conda-forge"
    channel = LocalChannel(root)

    def add(name: str, fmt: str = ".conda") -> Dist:
        path = build_package(tmp_path / "built", name=name, fmt=fmt)
        dist = parse_dist(f"noarch/{path.name}")
        channel.upload(path, dist)
        return dist

    def views() -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("repodata.json")}

    def assert_as_full() -> None:
        rendered = views()
        fresh = LocalChannel(root)  # no state from earlier renders
        with fresh.index.lock("noarch"):
            fresh.index.render("noarch")
        assert views() == rendered

    old, new = add("lib", ".tar.bz2"), add("lib")
    assert_as_full()
    gone, revoked = add("gone"), add("bad", ".tar.bz2")
    channel.set_patch_instructions("noarch", {
        "packages": {old.fn: {"depends": ["python >=3.9"]}},
        "remove": [gone.fn], "revoke": [revoked.fn]})
    assert_as_full()
    channel.mark_broken(new)
    later = add("later")
    assert_as_full()
    channel.remove(old)
    channel.remove(later)
    add("last")
    assert_as_full()
    assert set(views()) == {"noarch/repodata.json", "label/broken/noarch/repodata.json"}
