"""`python -m testing forge init`: create a local forge organisation on disk."""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from migrator.core.errors import MigratorError, UserError
from migrator.core.files import write_json
from migrator.forges import gitobjects
from migrator.forges.local import FORMAT, LocalForge
from migrator.rerender import EXECUTABLE_PATHS, seed_ci_files
from testing.seed_content import (
    FeedstockSeed,
    Files,
    broken_feedstocks,
    corpus_feedstocks,
    generated,
)

REGISTRIES = ("feedstock-tokens", "feedstock-outputs")
FIRST_ID = 100_000
# what conda-forge's readers fetch from feedstock-outputs besides the name files
REGISTRY_FILES: dict[str, Files] = {"feedstock-outputs": {
    "config.json": (b'{\n    "outputs_path": "outputs",\n    "shard_level": 3,\n'
                    b'    "shard_fill": "z",\n    "auto_register_all": false\n}\n', False),
    "feedstock_outputs_autoreg_allowlist.yml": (
        b"# feedstock name (without -feedstock) -> fnmatch patterns of package names it may\n"
        b"# publish; a matching name is registered to it the first time it is published\n"
        b"{}\n", False),
}}
_REJECT_HOOK = (
    "#!/bin/sh\n"
    "echo 'protected branch: changes to this feedstock need a reviewed pull request' >&2\n"
    "exit 1\n"
)


def create_forge(
    root: Path, *, count: int, org: str = "conda-forge", broken: bool = False,
    corpus_share: float = 0.5, workers: int | None = None,
) -> LocalForge:
    """Make an organisation of `count` feedstocks: real corpus feedstocks first (up to
    `corpus_share` of them), then generated ones; with `broken`, add one feedstock per
    kind of bad input on top of the count."""
    root = Path(root)
    if count < 0:
        raise UserError("--count must not be negative")
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root} exists and is not empty; choose a new folder")
    (root / "git").mkdir(parents=True, exist_ok=True)
    seeds = _choose(count, broken=broken, corpus_share=corpus_share)
    table: dict[str, dict[str, object]] = {}
    for offset, name in enumerate(REGISTRIES):
        _write_registry(root, name)
        table[name] = {"id": FIRST_ID - 1 - offset, "archived": False, "default_branch": "main"}
    jobs = [(root, FIRST_ID + i, seed) for i, seed in enumerate(seeds)]
    with ProcessPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        for name, meta in pool.map(_write_feedstock_job, jobs, chunksize=64):
            table[name] = meta
    write_json(root / "repos.json", table)
    write_json(root / "forge.json", {"org": org, "format": FORMAT})
    return LocalForge(root)


def _choose(count: int, *, broken: bool, corpus_share: float) -> list[FeedstockSeed]:
    corpus = corpus_feedstocks(include_broken=False)
    taken = corpus[: int(count * corpus_share)]
    seeds = taken + [generated(i) for i in range(count - len(taken))]
    if broken:
        seeds += list(broken_feedstocks())
        seeds += [s._replace(name=f"broken-corpus-{s.name}")
                  for s in corpus_feedstocks(include_broken=True) if s not in corpus]
    return seeds


def _write_feedstock_job(job: tuple[Path, int, FeedstockSeed]) -> tuple[str, dict[str, object]]:
    root, repo_id, seed = job
    name = f"{seed.name}-feedstock"
    path = root / "git" / f"{name}.git"
    db = gitobjects.init_bare(path, default_branch="main")
    if not seed.empty:
        files = _with_ci_files(seed.name if seed.source == "generated" else None, seed.files)
        sha = gitobjects.commit(db, files, message=f"Initial feedstock commit for {seed.name}")
        for branch in ("main", *seed.extra_branches):
            gitobjects.set_ref(path, branch, sha)
    if seed.reject_pushes:
        hook = path / "hooks" / "pre-receive"
        hook.write_text(_REJECT_HOOK)
        hook.chmod(0o755)
    meta = {"id": repo_id, "archived": seed.archived, "default_branch": seed.default_branch,
            "source": seed.source}
    return name, meta


def _with_ci_files(generated_name: str | None, files: Files) -> Files:
    try:
        if generated_name is None:
            rendered = seed_ci_files({path: data for path, (data, _) in files.items()})
        else:
            rendered = _generated_ci_files(generated_name, files)
    except MigratorError:  # an unrenderable seed keeps its own files; the migration reports it
        return files
    merged = dict(files)
    for path, data in rendered.items():
        merged[path] = (data, path in EXECUTABLE_PATHS)
    return merged


_RENDERED: dict[str, dict[str, bytes]] = {}  # per worker process
_SOURCE_HASH = re.compile(rb"sha256: [0-9a-f]{64}")  # the only other per-name input


def _generated_ci_files(name: str, files: Files) -> dict[str, bytes]:
    """Generated feedstocks differ only in their name, so their CI files are rendered
    once per shape with a stand-in name of the same length (aligned lines stay aligned)
    and the name is filled in; most of a large forge's creation time was rendering."""
    stand_in = ("q" + "z" * len(name))[: len(name)]
    inputs = {p: _SOURCE_HASH.sub(b"sha256: " + b"0" * 64, d.replace(name.encode(),
                                                                     stand_in.encode()))
              for p, (d, _) in files.items()}
    key = hashlib.sha256(repr(sorted(inputs.items())).encode()).hexdigest()
    if key not in _RENDERED:
        _RENDERED[key] = seed_ci_files(inputs)
    return {p: d.replace(stand_in.encode(), name.encode()) for p, d in _RENDERED[key].items()}


def _write_registry(root: Path, name: str) -> None:
    path = root / "git" / f"{name}.git"
    db = gitobjects.init_bare(path, default_branch="main")
    readme = (f"# {name}\n\nRegistry repository of the organisation; "
              "written by the admin migrations and the validation service.\n").encode()
    files: Files = {"README.md": (readme, False), **REGISTRY_FILES.get(name, {})}
    sha = gitobjects.commit(db, files, message=f"Create {name}")
    gitobjects.set_ref(path, "main", sha)


def describe(forge: LocalForge) -> dict[str, int]:
    feedstocks = forge.list_feedstocks()
    return {
        "feedstocks": len(feedstocks),
        "archived": sum(r.archived for r in feedstocks),
    }
