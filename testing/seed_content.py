"""What the seeded feedstocks contain: real corpus files, and more made from templates."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from migrator.core import templating

Files = dict[str, tuple[bytes, bool]]

CORPUS = Path(__file__).resolve().parent / "corpus" / "feedstocks"
CONFIG_STYLES = (
    "modern", "commented", "flow", "empty-list", "false", "no-final-newline", "sequence",
    "empty-map", "modern", "commented",
)
PLATFORMS = ("linux_64", "osx_64", "win_64", "linux_aarch64")
MAINTAINERS = ("conda-forge/core", "jakirkham", "ocefpaf", "beckermr", "isuruf", "xhochy")


class FeedstockSeed(NamedTuple):
    name: str  # without "-feedstock"
    files: Files
    default_branch: str = "main"
    extra_branches: tuple[str, ...] = ()
    archived: bool = False
    reject_pushes: bool = False
    empty: bool = False
    source: str = "generated"


def corpus_feedstocks(*, include_broken: bool) -> list[FeedstockSeed]:
    index = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
    seeds = []
    for name in sorted(index):
        traits = set(index[name]["traits"])
        broken = "yaml-error" in traits or "merge-conflict-markers" in traits
        if broken and not include_broken:
            continue
        seeds.append(_from_corpus(name, index[name]))
    return seeds


def _from_corpus(feedstock: str, entry: dict[str, object]) -> FeedstockSeed:
    name = feedstock.removesuffix("-feedstock")
    folder = CORPUS / feedstock
    files: Files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        files[rel] = (path.read_bytes(), rel.endswith(".sh"))
    if not any(p.startswith("recipe/") for p in files):
        files.update(_recipe(name))
    if not any(p.startswith(".ci_support/") for p in files):
        files.update(_variants(name, ("linux_64",)))
    files.setdefault("README.md", (_readme(name), False))
    return FeedstockSeed(name, files, source=f"corpus:{entry['repo']}@{entry['commit']}")


def generated(index: int) -> FeedstockSeed:
    name = f"pkg{index:05d}"
    rng = random.Random(index)
    style = CONFIG_STYLES[index % len(CONFIG_STYLES)]
    platforms = ("linux_64",) + tuple(p for p in PLATFORMS[1:] if rng.random() < 0.3)
    files: Files = {
        "conda-forge.yml": (
            templating.render(f"seed/conda-forge/{style}.yml.j2", name=name).encode(), False),
        "README.md": (_readme(name), False),
        "LICENSE.txt": (b"BSD-3-Clause license for the recipe files of this feedstock.\n",
                        False),
    }
    files.update(_recipe(name))
    files.update(_variants(name, platforms))
    return FeedstockSeed(
        name, files,
        extra_branches=("v1.x",) if index % 10 == 3 else (),
        archived=index % 25 == 7,
    )


def _recipe(name: str) -> Files:
    text = templating.render(
        "seed/meta.yaml.j2", name=name, version="1.0.0",
        sha256=hashlib.sha256(name.encode()).hexdigest(), module=name.replace("-", "_"),
        summary=f"The {name} package", maintainers=MAINTAINERS[: 1 + len(name) % 3],
    )
    return {"recipe/meta.yaml": (text.encode(), False)}


def _variants(name: str, platforms: tuple[str, ...]) -> Files:
    return {
        f".ci_support/{platform}_.yaml": (
            templating.render("seed/ci_support.yaml.j2", platform=platform.replace("_", "-", 1))
            .encode(), False)
        for platform in platforms
    }


def _readme(name: str) -> bytes:
    return templating.render("seed/readme.md.j2", name=name, summary=f"The {name} package").encode()


def broken_feedstocks() -> Iterator[FeedstockSeed]:
    """One feedstock for each kind of bad input the migration must survive."""

    def files(name: str, config: bytes | None = b"{}\n", *, recipe: bool = True) -> Files:
        made = {k: v for k, v in generated(0).files.items()
                if k != "conda-forge.yml" and not k.startswith("recipe/")}
        if recipe:
            made.update(_recipe(name))
        if config is not None:
            made["conda-forge.yml"] = (config, False)
        return made

    yield FeedstockSeed("broken-tabs", files("broken-tabs", b"github:\n\tbranch_name: main\n"))
    yield FeedstockSeed("broken-list-root", files("broken-list-root", b"- provider\n- azure\n"))
    yield FeedstockSeed("broken-scalar-root", files("broken-scalar-root", b"just text\n"))
    yield FeedstockSeed("broken-duplicate-keys", files(
        "broken-duplicate-keys", b"bot:\n  automerge: true\nbot:\n  automerge: false\n"))
    yield FeedstockSeed("broken-invalid-yaml",
                        files("broken-invalid-yaml", b"github:\n  branch_name: [main\n"))
    yield FeedstockSeed("empty-config", files("empty-config", b""))
    yield FeedstockSeed("broken-no-config", files("broken-no-config", None))
    yield FeedstockSeed("broken-no-recipe", files("broken-no-recipe", recipe=False))
    yield FeedstockSeed("broken-empty-repo", {}, empty=True)
    yield FeedstockSeed("broken-missing-branch", files("broken-missing-branch"),
                        default_branch="gone")
    yield FeedstockSeed("broken-push-rejected", files("broken-push-rejected"),
                        reject_pushes=True)
