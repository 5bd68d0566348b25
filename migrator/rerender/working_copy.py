"""A feedstock's rendered CI files, read safely from a commit, and what a full rerender
changed in a working tree."""

from __future__ import annotations

from pathlib import Path

from migrator.core.git import git
from migrator.feedstock.commit_files import CommitFiles
from migrator.feedstock.safe_files import read_feedstock_file
from migrator.rerender.patch import ci_files_of

CONFIG = "conda-forge.yml"
CI_FILE_LIMIT = 4 << 20
CONFIG_LIMIT = 1 << 20


def rendered_files(files: CommitFiles) -> dict[str, bytes]:
    """`conda-forge.yml` and every rendered CI file of the commit; each is a regular file
    reached without a symlink, within its size limit."""
    found: dict[str, bytes] = {}
    for path in ci_files_of(files.paths()):
        data = files.read(path, limit=CI_FILE_LIMIT)
        if data is not None:
            found[path] = data
    config = files.read(CONFIG, limit=CONFIG_LIMIT)
    if config is not None:
        found[CONFIG] = config
    return found


def checkout_changes(workdir: Path) -> dict[str, bytes | None]:
    """Every path a working tree changed, added (new bytes) or deleted (None) since its
    HEAD, each read safely."""
    out = git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
              cwd=workdir)
    paths = sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})
    return {path: read_feedstock_file(workdir, path, limit=CI_FILE_LIMIT) for path in paths}
