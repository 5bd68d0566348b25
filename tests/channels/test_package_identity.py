"""Hostile uploads: packages whose metadata has two copies, whose links escape once
installed, whose subdir is invented or whose name collides in case are refused."""

from __future__ import annotations

import bz2
import io
import json
import tarfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from migrator.channels.dists import BadDist, Dist, parse_dist
from migrator.channels.package import BadPackage, check_new_name, inspect_package
from testing.build_package import build_package

try:
    from compression import zstd
except ImportError:
    from backports import zstd

STEM = "abess-1.0.0-0"
Entry = tuple[str, str, "bytes | str"]  # (kind, name, data or link target)


def index(name: str = "abess", subdir: str = "linux-64") -> bytes:
    return json.dumps({"name": name, "version": "1.0.0", "build": "0", "build_number": 0,
                       "subdir": subdir, "depends": [], "license": "MIT"}).encode()


INFO: list[Entry] = [("file", "info/index.json", index()), ("file", "info/files", b"bin/x\n")]
PAYLOAD: list[Entry] = [("file", "bin/x", b"#!/bin/sh\n")]


def tar(entries: Sequence[Entry]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
                continue
            info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "dir": tarfile.DIRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = str(data)
            archive.addfile(info)
    return out.getvalue()


def tar_bz2(folder: Path, entries: Sequence[Entry], stem: str = STEM) -> Path:
    path = folder / f"{stem}.tar.bz2"
    path.write_bytes(bz2.compress(tar(entries)))
    return path


def dot_conda(folder: Path, info: Sequence[Entry], pkg: Sequence[Entry], *,
              extra: Sequence[tuple[str, bytes]] = (), gap: bytes = b"") -> Path:
    """A .conda as conda-package-handling lays it out, plus `extra` zip entries and
    `gap` bytes written between the info and pkg entries."""
    path = folder / f"{STEM}.conda"
    with open(path, "wb") as handle, zipfile.ZipFile(handle, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        zf.writestr(f"pkg-{STEM}.tar.zst", zstd.compress(tar(pkg)))
        handle.seek(zf.start_dir)
        handle.write(gap)
        zf.start_dir = handle.tell()  # the next entry goes after the gap
        zf.writestr(f"info-{STEM}.tar.zst", zstd.compress(tar(info)))
        for name, data in extra:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
                zf.writestr(name, data)
    return path


def refused(path: Path, match: str, dist: Dist | None = None) -> None:
    with pytest.raises(BadPackage, match=match):
        inspect_package(path, dist or parse_dist(f"linux-64/{path.name}"))


@pytest.mark.parametrize("fmt", [".conda", ".tar.bz2"])
def test_real_packages_pass(tmp_path: Path, fmt: str) -> None:
    path = build_package(tmp_path, name="abess", subdir="linux-64", fmt=fmt,
                         files={"bin/abess": b"x", "lib/libabess.so.1": b"y"})
    facts = inspect_package(path, parse_dist(f"linux-64/{path.name}"))
    assert facts.index_json["name"] == facts.record["name"] == "abess"


def test_the_hand_built_archives_pass(tmp_path: Path) -> None:
    links: list[Entry] = [("symlink", "lib/libx.so", "libx.so.1"), ("file", "lib/libx.so.1", b"")]
    for path in (tar_bz2(tmp_path, [*INFO, *PAYLOAD, *links, ("dir", "./", "")]),
                 dot_conda(tmp_path, INFO, [*PAYLOAD, *links])):
        assert inspect_package(path, parse_dist(f"linux-64/{path.name}")).index_json["name"] \
            == "abess"


@pytest.mark.parametrize("second", ["info/index.json", "./info/index.json", "info//index.json",
                                    "INFO/index.json", "info/Index.JSON", "info\\index.json"])
def test_a_second_index_json_is_refused(tmp_path: Path, second: str) -> None:
    other: Entry = ("file", second, index(name="numpy"))
    refused(tar_bz2(tmp_path, [*INFO, *PAYLOAD, other]), "appears more than once")
    refused(tar_bz2(tmp_path, [other, *INFO, *PAYLOAD]), "appears more than once")


def test_any_info_member_twice_is_refused(tmp_path: Path) -> None:
    refused(tar_bz2(tmp_path, [*INFO, *PAYLOAD, ("file", "./info/files", b"lib/evil\n")]),
            r"'info/files' appears more than once")


def test_a_conda_keeps_info_in_its_info_part(tmp_path: Path) -> None:
    refused(dot_conda(tmp_path, INFO, [*PAYLOAD, ("file", "info/index.json", index("numpy"))]),
            "info/ belongs in the info part")
    refused(dot_conda(tmp_path, INFO, [*PAYLOAD, ("file", "./Info/paths.json", b"{}")]),
            "info/ belongs in the info part")
    refused(dot_conda(tmp_path, [*INFO, ("file", "bin/y", b"")], PAYLOAD),
            "outside info/ in the info part")


def test_a_conda_zip_holds_each_part_once_and_nothing_else(tmp_path: Path) -> None:
    evil_info = zstd.compress(tar([("file", "info/index.json", index("numpy"))]))
    refused(dot_conda(tmp_path, INFO, PAYLOAD, extra=[(f"info-{STEM}.tar.zst", evil_info)]),
            "exactly metadata.json")
    refused(dot_conda(tmp_path, INFO, PAYLOAD, extra=[("notes.txt", b"")]),
            "exactly metadata.json")


def test_a_zip_entry_hidden_from_the_directory_is_refused(tmp_path: Path) -> None:
    # a complete local entry that only a streaming reader would see
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as zf:
        zf.writestr(f"info-{STEM}.tar.zst",
                    zstd.compress(tar([("file", "info/index.json", index("numpy"))])))
    raw = hidden.getvalue()
    entry = raw[: raw.index(b"PK\x01\x02")]
    refused(dot_conda(tmp_path, INFO, PAYLOAD, gap=entry), "hidden data")


def test_a_link_chain_that_escapes_once_installed_is_refused(tmp_path: Path) -> None:
    chain: list[Entry] = [("symlink", "a/b", ".."), ("symlink", "a/c", "b/..")]
    refused(tar_bz2(tmp_path, [*INFO, *PAYLOAD, *chain]),
            r"'a/c': symbolic link leads outside the package")
    refused(dot_conda(tmp_path, INFO, [*PAYLOAD, *chain]), "leads outside")
    # each link alone stays inside: a/b is the prefix itself
    inspect_package(tar_bz2(tmp_path, [*INFO, *PAYLOAD, chain[0]]),
                    parse_dist(f"linux-64/{STEM}.tar.bz2"))


@pytest.mark.parametrize(("entries", "reason"), [
    ([("symlink", "a/up", ".."), ("symlink", "a/up/out", "..")], "leads outside"),
    ([("symlink", "x/L", ".."), ("symlink", "x/l/c", "..")], "leads outside"),  # case
    ([("symlink", "d", "sub"), ("symlink", "sub", "d"), ("file", "d/f", b"")], "40 links"),
    ([("symlink", "lib/y", "../ghost/../../etc")], "climbs out of 'ghost'"),
    ([("symlink", "s", "/etc/passwd")], "absolute path"),
    ([("symlink", "s", "C:/Windows")], "absolute path"),
    ([("symlink", "s", "")], "empty target"),
    ([("hardlink", "h", "bin/nothing")], "hard link to a file the package does not hold"),
    ([("hardlink", "h", "../etc/passwd")], "contains '..'"),
    ([("fifo", "p", "")], "device files and pipes"),
    ([("file", "../x", b"")], "contains '..'"),
    ([("file", "/x", b"")], "absolute path"),
    ([("symlink", "info/paths.json", "../bin/x")], "package metadata is a link"),
])
def test_members_that_land_outside_are_refused(tmp_path: Path, entries: list[Entry],
                                               reason: str) -> None:
    refused(tar_bz2(tmp_path, [*INFO, *PAYLOAD, *entries]), reason)


def test_links_and_files_through_links_that_stay_inside_pass(tmp_path: Path) -> None:
    inside: list[Entry] = [("symlink", "lib64", "lib"), ("file", "lib64/libz.so", b""),
                           ("hardlink", "lib/libz2.so", "lib64/libz.so"),
                           ("symlink", "bin/tool", "../lib/libz.so")]
    inspect_package(tar_bz2(tmp_path, [*INFO, *PAYLOAD, *inside]),
                    parse_dist(f"linux-64/{STEM}.tar.bz2"))


@pytest.mark.parametrize("subdir", ["zz-evil", "label", "Linux-64", "linux-64x"])
def test_an_invented_subdir_is_refused(tmp_path: Path, subdir: str) -> None:
    with pytest.raises(BadDist, match="not a platform subdir conda knows"):
        parse_dist(f"{subdir}/{STEM}.conda")
    path = dot_conda(tmp_path, [("file", "info/index.json", index(subdir=subdir))], PAYLOAD)
    refused(path, "not a platform subdir", Dist(subdir, path.name, "abess", "1.0.0", "0"))


def test_metadata_must_match_the_file_name_and_subdir(tmp_path: Path) -> None:
    path = dot_conda(tmp_path, [("file", "info/index.json", index(subdir="osx-64"))], PAYLOAD)
    refused(path, r"subdir 'osx-64' \(the file name says 'linux-64'\)")
    path = dot_conda(tmp_path, [("file", "info/index.json", index(name="numpy"))], PAYLOAD)
    refused(path, r"name 'numpy' \(the file name says 'abess'\)")
    refused(dot_conda(tmp_path, [("symlink", "info/index.json", "../bin/x")], PAYLOAD),
            "info/index.json is a symlink, not a file")


def test_a_name_differing_only_in_case_from_a_published_one_is_refused() -> None:
    upper = parse_dist("linux-64/ABESS-1.0.0-0.conda")
    with pytest.raises(BadPackage, match="differs only in case from abess-1.0.0-0.conda"):
        check_new_name(upper, ["numpy-2.0-0.conda", "abess-1.0.0-0.conda"])
    with pytest.raises(BadPackage, match="differs only in case"):
        check_new_name(parse_dist("linux-64/abess-1.0.0RC1-0.conda"), ["abess-1.0.0rc1-0.conda"])
    check_new_name(upper, ["ABESS-1.0.0-0.conda", "abess-1.0.0-0.tar.bz2", "abess-1.0.1-0.conda"])
