"""A working copy's rendered CI files, read safely, and what a rerender changed in it."""

from __future__ import annotations

from pathlib import Path

from migrator.core.git import git, git_bytes
from migrator.feedstock.safe_files import read_feedstock_file, write_feedstock_file
from migrator.rerender.patch import ci_files_of

CONFIG = "conda-forge.yml"
CI_FILE_LIMIT = 4 << 20
CONFIG_LIMIT = 1 << 20


def tracked_paths(workdir: Path) -> list[str]:
    out = git("ls-files", "-z", "--", ".", cwd=workdir)
    return [p for p in out.split("\0") if p]


def rendered_files(workdir: Path) -> dict[str, bytes]:
    """`conda-forge.yml` and every rendered CI file, as they are in the clone; each is a
    regular file reached without a symlink, within its size limit."""
    files: dict[str, bytes] = {}
    for path in ci_files_of(tracked_paths(workdir)):
        data = read_feedstock_file(workdir, path, limit=CI_FILE_LIMIT)
        if data is not None:
            files[path] = data
    config = read_feedstock_file(workdir, CONFIG, limit=CONFIG_LIMIT)
    if config is not None:
        files[CONFIG] = config
    return files


def write_files(workdir: Path, changed: dict[str, bytes]) -> None:
    for path, data in sorted(changed.items()):
        write_feedstock_file(workdir, path, data, mode=_mode(workdir, path))


def changed_paths(workdir: Path) -> list[str]:
    """Every path the working copy changed, added or deleted since HEAD."""
    out = git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
              cwd=workdir)
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def head_version(workdir: Path, path: str) -> bytes | None:
    listed = git("ls-tree", "-z", "HEAD", "--", path, cwd=workdir)
    if not listed:
        return None
    meta, _, _ = listed.partition("\t")
    mode, kind, sha = meta.split()
    if kind != "blob" or mode == "120000":
        return None
    return git_bytes("cat-file", "blob", sha, cwd=workdir)


def _mode(workdir: Path, path: str) -> int:
    listed = git("ls-files", "-s", "--", path, cwd=workdir)
    return 0o755 if listed.startswith("100755") else 0o644
