"""`python -m testing forge init`: create a local forge organisation on disk.

Feedstocks are written by worker processes in runs of `_CHUNK`, each repository packed
in one go (`seed_repo`), each run's Azure build definitions with it; generated feedstocks
are described to the workers by their index alone, so nothing large crosses a process
boundary.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeAlias

from migrator.core.errors import UserError
from migrator.core.files import write_json
from migrator.core.secret import Secret
from migrator.forges.local import FORMAT, LocalForge
from testing.seed_azure import create_azure, register_pipelines
from testing.seed_broken import broken_feedstocks
from testing.seed_content import FeedstockSeed, Files, corpus_feedstocks, generated
from testing.seed_pack import ObjectCache
from testing.seed_repo import Skeleton, write_bare

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
Spec: TypeAlias = int | FeedstockSeed  # a generated feedstock's index, or a whole seed
_CACHE = ObjectCache()  # per process: generated feedstocks share most of their objects
_SKELETONS: dict[Path, Skeleton] = {}  # per forge: its repositories share HEAD and config
_CHUNK = 250  # feedstocks a worker writes in one go


def create_forge(
    root: Path, *, count: int, org: str = "conda-forge", broken: bool = False,
    corpus_share: float = 0.5, workers: int | None = None,
    staging_token: Secret | None = None,
) -> LocalForge:
    """Make an organisation of `count` feedstocks: real corpus feedstocks first (up to
    `corpus_share` of them), then generated ones; with `broken`, add one feedstock per
    kind of bad input on top of the count. Beside the repositories, `azure/` holds a
    build definition per feedstock and the staging token's variable group."""
    root = Path(root)
    if count < 0:
        raise UserError("--count must not be negative")
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root} exists and is not empty; choose a new folder")
    (root / "git").mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, object]] = {}
    for offset, name in enumerate(REGISTRIES):
        _write_registry(root, name)
        table[name] = {"id": FIRST_ID - 1 - offset, "archived": False, "default_branch": "main"}
    specs = _choose(count, broken=broken, corpus_share=corpus_share)
    azure = create_azure(root, staging_token=staging_token)
    jobs = [(root, azure, FIRST_ID + start, specs[start: start + _CHUNK])
            for start in range(0, len(specs), _CHUNK)]
    # twice the cores: a worker spends about half its time waiting on the file system
    processes = workers or min(4, 2 * (os.cpu_count() or 1))
    if processes == 1 or len(jobs) == 1:
        chunks = list(map(_write_chunk, jobs))
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            chunks = list(pool.map(_write_chunk, jobs))
    written = [item for chunk in chunks for item in chunk]
    for name, meta in written:
        table[name] = meta
    write_json(root / "repos.json", table)
    write_json(root / "forge.json", {"org": org, "format": FORMAT})
    return LocalForge(root)


def _choose(count: int, *, broken: bool, corpus_share: float) -> list[Spec]:
    corpus = corpus_feedstocks(include_broken=False)
    taken: list[Spec] = list(corpus[: int(count * corpus_share)])
    specs = taken + list(range(count - len(taken)))
    if broken:
        specs += list(broken_feedstocks())
        specs += [s._replace(name=f"broken-corpus-{s.name}")
                  for s in corpus_feedstocks(include_broken=True) if s not in corpus]
    return specs


def _write_chunk(job: tuple[Path, Path, int, list[Spec]]) -> list[tuple[str, dict[str, object]]]:
    """Write a run of feedstocks and register their build definitions (so the Azure
    store's writes are spread over the workers too)."""
    root, azure, first_id, specs = job
    written: list[tuple[str, dict[str, object]]] = []
    linked: list[str] = []
    unlinked: list[str] = []
    for offset, spec in enumerate(specs):
        seed = generated(spec) if isinstance(spec, int) else spec
        name = f"{seed.name}-feedstock"
        write_bare(
            root / "git" / f"{name}.git", _CACHE, _SKELETONS.setdefault(root, Skeleton()),
            None if seed.empty else seed.files,
            message=f"Initial feedstock commit for {seed.name}",
            branches=("main", *seed.extra_branches), reject_pushes=seed.reject_pushes,
        )
        written.append((name, {"id": first_id + offset, "archived": seed.archived,
                               "default_branch": seed.default_branch, "source": seed.source}))
        (linked if seed.pipeline_linked else unlinked).append(name)
    register_pipelines(azure, linked=linked, unlinked=unlinked)
    return written


def _write_registry(root: Path, name: str) -> None:
    readme = (f"# {name}\n\nRegistry repository of the organisation; "
              "written by the admin migrations and the validation service.\n").encode()
    files: Files = {"README.md": (readme, False), **REGISTRY_FILES.get(name, {})}
    write_bare(root / "git" / f"{name}.git", _CACHE, _SKELETONS.setdefault(root, Skeleton()),
               files, message=f"Create {name}")


def describe(forge: LocalForge) -> dict[str, int]:
    feedstocks = forge.list_feedstocks()
    return {
        "feedstocks": len(feedstocks),
        "archived": sum(r.archived for r in feedstocks),
    }
