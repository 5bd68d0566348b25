"""Local channels: labels, the broken label, repodata patches, re-indexing, and the
indexer agreeing with rattler-index."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from migrator.channels.directory import LocalChannel
from migrator.channels.dists import Dist, parse_dist
from migrator.channels.local_reindex import reindex
from testing.build_package import build_package
from testing.outputs_support import listed, repodata, tree_digest


def add(channel: LocalChannel, tmp: Path, name: str, version: str = "1.0", *,
        fmt: str = ".conda", labels: tuple[str, ...] = ("main",), subdir: str = "noarch",
        depends: tuple[str, ...] = ()) -> Dist:
    path = build_package(tmp / "built", name=name, version=version, fmt=fmt, subdir=subdir,
                         depends=depends)
    dist = parse_dist(f"{subdir}/{path.name}")
    channel.upload(path, dist, labels=labels)
    return dist


@pytest.fixture
def channel(tmp_path: Path) -> LocalChannel:
    return LocalChannel(tmp_path / "conda-forge")


def test_an_empty_channel_serves_noarch(channel: LocalChannel) -> None:
    assert repodata(channel) == {"info": {"subdir": "noarch"}, "packages": {},
                                 "packages.conda": {}, "removed": [], "repodata_version": 1}


def test_labels_have_their_own_repodata(channel: LocalChannel, tmp_path: Path) -> None:
    both = add(channel, tmp_path, "a", labels=("main", "rc"))
    rc_only = add(channel, tmp_path, "b", labels=("rc",))
    add(channel, tmp_path, "c", subdir="linux-64")
    assert listed(channel) == {both.fn}
    assert listed(channel, label="rc") == {both.fn, rc_only.fn}
    assert repodata(channel, label="rc")["info"]["base_url"] == "../../../noarch/"
    assert listed(channel, "linux-64") == {"c-1.0-0.conda"}
    assert (channel.root / "label" / "rc" / "noarch" / "repodata.json").is_file()
    with pytest.raises(FileExistsError):
        channel.upload(channel.path(both), both)


def test_broken_leaves_main_but_stays_downloadable(channel: LocalChannel,
                                                   tmp_path: Path) -> None:
    good = add(channel, tmp_path, "pkg", "1.0")
    bad = add(channel, tmp_path, "pkg", "1.1")
    data = channel.path(bad).read_bytes()
    channel.mark_broken(bad)
    assert listed(channel) == {good.fn}
    assert listed(channel, label="broken") == {bad.fn}
    assert channel.path(bad).read_bytes() == data  # the URL still answers
    info = channel.info(bad)
    assert info is not None and info.labels == frozenset({"broken"})
    with pytest.raises(FileNotFoundError):
        channel.mark_broken(parse_dist("noarch/nothing-1-0.conda"))


def test_remove_unlists_then_deletes(channel: LocalChannel, tmp_path: Path) -> None:
    dist = add(channel, tmp_path, "gone")
    channel.remove(dist)
    assert listed(channel) == set() and not channel.path(dist).exists()
    channel.remove(dist)  # absent: nothing to do


def test_patch_instructions(channel: LocalChannel, tmp_path: Path) -> None:
    old = add(channel, tmp_path, "lib", "1.0", fmt=".tar.bz2", depends=("python",))
    new = add(channel, tmp_path, "lib", "1.0", fmt=".conda", depends=("python",))
    dropped = add(channel, tmp_path, "lib", "0.1")
    bad = add(channel, tmp_path, "lib", "0.2", fmt=".tar.bz2")
    channel.set_patch_instructions("noarch", {
        "patch_instructions_version": 1,
        "packages": {old.fn: {"depends": ["python >=3.9"], "license": None}},
        "packages.conda": {},
        "remove": [dropped.fn],
        "revoke": [bad.fn],
    })
    data = repodata(channel)
    assert data["packages"][old.fn]["depends"] == ["python >=3.9"]
    assert "license" not in data["packages"][old.fn]
    # a .tar.bz2 instruction covers the .conda of the same build
    assert data["packages.conda"][new.fn]["depends"] == ["python >=3.9"]
    assert dropped.fn not in data["packages.conda"] and data["removed"] == [dropped.fn]
    assert data["packages"][bad.fn]["revoked"] is True
    assert data["packages"][bad.fn]["depends"] == ["package_has_been_revoked"]
    # the records themselves are untouched: patches apply when the index is rendered
    record = channel.index.read("noarch", old.fn)
    assert record is not None and record.record["depends"] == ["python"]
    with pytest.raises(ValueError, match="unknown patch instruction keys"):
        channel.set_patch_instructions("noarch", {"package": {}})


def test_patches_survive_new_publications(channel: LocalChannel, tmp_path: Path) -> None:
    first = add(channel, tmp_path, "x", "1")
    channel.set_patch_instructions("noarch", {"packages.conda": {first.fn: {"depends": ["y"]}}})
    add(channel, tmp_path, "x", "2")
    assert repodata(channel)["packages.conda"][first.fn]["depends"] == ["y"]


def test_incremental_and_full_reindex_agree_with_rattler_index(channel: LocalChannel,
                                                              tmp_path: Path) -> None:
    dists = [add(channel, tmp_path, f"p{i}", fmt=(".conda", ".tar.bz2")[i % 2],
                 depends=("python",)) for i in range(4)]
    channel.mark_broken(dists[0])
    incremental = {d.fn: channel.index.read("noarch", d.fn) for d in dists}
    before = json.loads(channel.index.view_path("noarch").read_text())
    stamps = {fn: entry.record["indexed_timestamp"] for fn, entry in incremental.items()
              if entry is not None}

    results = reindex(channel, full=True)
    assert [(r.subdir, r.packages, r.read) for r in results] == [("noarch", 4, 4)]
    for dist in dists:
        entry = channel.index.read("noarch", dist.fn)
        assert entry == incremental[dist.fn]  # rattler-index agrees; labels are kept
        assert entry.record["indexed_timestamp"] == stamps[dist.fn]
    assert json.loads(channel.index.view_path("noarch").read_text()) == before
    assert listed(channel, label="broken") == {dists[0].fn}


def test_incremental_reindex_reads_only_new_files(channel: LocalChannel,
                                                  tmp_path: Path) -> None:
    add(channel, tmp_path, "a")
    stray = build_package(tmp_path / "stray", name="b")
    (channel.root / "noarch" / stray.name).write_bytes(stray.read_bytes())
    gone = add(channel, tmp_path, "c")
    channel.path(gone).unlink()
    [result] = [r for r in reindex(channel) if r.subdir == "noarch"]
    assert (result.packages, result.read, result.dropped) == (2, 1, 1)
    assert listed(channel) == {"a-1.0-0.conda", stray.name}


def test_concurrent_publications_all_land(channel: LocalChannel, tmp_path: Path) -> None:
    paths = [build_package(tmp_path / "many", name=f"n{i}") for i in range(12)]
    errors: list[BaseException] = []

    def publish(path: Path) -> None:
        try:
            channel.upload(path, parse_dist(f"noarch/{path.name}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert listed(channel) == {p.name for p in paths}
    assert not list((channel.root / ".index" / "noarch" / "pending").iterdir())


def test_receiving_the_same_bytes_again_changes_nothing(channel: LocalChannel,
                                                        tmp_path: Path) -> None:
    dist = add(channel, tmp_path, "same")
    before = tree_digest(channel.root / "noarch")
    channel.receive(channel.path(dist), dist, labels={"main"})
    assert tree_digest(channel.root / "noarch") == before
    other = build_package(tmp_path / "other", name="same", files={"x": b"other"})
    with pytest.raises(FileExistsError):
        channel.receive(other, dist, labels={"main"})


def test_folding_small_records_into_the_base(channel: LocalChannel, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from migrator.channels import local_records

    monkeypatch.setattr(local_records, "FOLD_AT", 3)
    dists = [add(channel, tmp_path, f"f{i}") for i in range(5)]
    records = channel.root / ".index" / "noarch" / "records"
    assert (channel.root / ".index" / "noarch" / "base.tsv").is_file()
    assert len(list(records.iterdir())) < 3
    channel.remove(dists[0])  # a record that lives in the base
    channel.mark_broken(dists[1])
    assert listed(channel) == {d.fn for d in dists[2:]}
    assert listed(channel, label="broken") == {dists[1].fn}
    info = channel.info(dists[2])
    assert info is not None and info.labels == frozenset({"main"})
    assert channel.info(dists[0]) is None


def test_two_processes_see_each_others_changes(tmp_path: Path) -> None:
    first = LocalChannel(tmp_path / "shared")
    a = add(first, tmp_path, "a")
    second = LocalChannel(tmp_path / "shared")  # another process's view of the same folder
    second.mark_broken(a)
    b = add(first, tmp_path, "b")  # first renders with its cache, after second's change
    assert listed(first) == {b.fn} and listed(first, label="broken") == {a.fn}
    reindex(second, full=True)
    second.remove(b)
    add(first, tmp_path, "c")
    assert listed(first) == {"c-1.0-0.conda"} and listed(first, label="broken") == {a.fn}
