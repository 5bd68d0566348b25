"""Build bare git repositories by writing objects directly (no git process per repo).

Creating 30,000 feedstocks with one `git init` + `git commit` each would spend most of its
time starting processes; writing loose objects with gitdb (GitPython's object store)
gives the same repositories, which `git fsck` accepts, in a fraction of the time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from gitdb import IStream, LooseObjectDB

_DATE = "1735689600 +0000"  # fixed, so seeded forges are reproducible
_IDENTITY = "conda-forge-admin <pelson.pub+conda-forge@gmail.com>"


def init_bare(path: Path, *, default_branch: str) -> LooseObjectDB:
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "hooks"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    (path / "HEAD").write_text(f"ref: refs/heads/{default_branch}\n")
    (path / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
        "[receive]\n\tdenyNonFastForwards = true\n"
    )
    (path / "description").write_text("feedstock\n")
    return LooseObjectDB(str(path / "objects"))


def _store(db: LooseObjectDB, kind: bytes, data: bytes) -> bytes:
    return bytes(db.store(IStream(kind, len(data), io.BytesIO(data))).binsha)


def _tree(db: LooseObjectDB, files: Mapping[str, tuple[bytes, bool]]) -> bytes:
    entries: dict[str, tuple[bytes, bytes]] = {}
    subtrees: dict[str, dict[str, tuple[bytes, bool]]] = {}
    for path, (data, executable) in files.items():
        head, _, rest = path.partition("/")
        if rest:
            subtrees.setdefault(head, {})[rest] = (data, executable)
        else:
            mode = b"100755" if executable else b"100644"
            entries[head] = (mode, _store(db, b"blob", data))
    for name, sub in subtrees.items():
        entries[name] = (b"40000", _tree(db, sub))
    # git orders tree entries by name, with directories compared as if they ended in "/"
    def key(name: str) -> bytes:
        return (name + "/" if entries[name][0] == b"40000" else name).encode()

    body = b"".join(
        entries[name][0] + b" " + name.encode() + b"\0" + entries[name][1]
        for name in sorted(entries, key=key)
    )
    return _store(db, b"tree", body)


def commit(
    db: LooseObjectDB, files: Mapping[str, tuple[bytes, bool]], *, message: str,
    parent: bytes | None = None,
) -> bytes:
    tree = _tree(db, files)
    lines = [f"tree {tree.hex()}"]
    if parent is not None:
        lines.append(f"parent {parent.hex()}")
    lines += [f"author {_IDENTITY} {_DATE}", f"committer {_IDENTITY} {_DATE}", "", message]
    return _store(db, b"commit", ("\n".join(lines) + "\n").encode())


def set_ref(path: Path, branch: str, sha: bytes) -> None:
    (path / "refs" / "heads" / branch).write_text(sha.hex() + "\n")
