"""What the seeded feedstocks contain: real corpus feedstocks as stored, and generated
ones made of a real conda-smithy layout, a recipe and a conda-forge.yml.

Generated feedstock `pkgNNNNN` takes its shape of conda-forge.yml and its CI layout from
`SHAPES[NNNNN % 10]`; every tenth one already validates (its layout as rendered with
`conda_forge_output_validation: true`, the key set), the others start without it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import NamedTuple

from migrator.core import templating
from testing.seed_layouts import CORPUS, LAYOUTS, corpus_files, executable, layout_files

Files = dict[str, tuple[bytes, bool]]

# index % 10 -> (shape of conda-forge.yml, layout); the empty shapes go with the layout
# conda-smithy's defaults give, and "validated" picks its layout from VALIDATED_LAYOUTS
SHAPES = (
    ("modern", "github-actions"), ("commented", "mixed"), ("flow", "mixed"),
    ("empty-list", "github-actions"), ("false", "azure"), ("no-final-newline", "azure-linux"),
    ("sequence", "azure"), ("empty-map", "github-actions"), ("modern", "azure-linux"),
    ("validated", ""),
)
VALIDATED_LAYOUTS = ("github-actions", "mixed", "azure-linux", "azure")
MAINTAINERS = ("conda-forge/core", "jakirkham", "ocefpaf", "beckermr", "isuruf", "xhochy")
# Corpus feedstocks with a whole conda-smithy render that the validation patch accepts,
# uploading from azure and github_actions only (the others have only conda-forge.yml, an
# old layout, or travis/drone/appveyor uploads); tests/testing/test_seed.py recomputes it.
WORKABLE_CORPUS = frozenset({
    "ambertools", "atari_py", "autodiff", "begins", "clangdev",
    "conda-forge-repodata-patches", "conda-standalone", "cupy", "daal4py", "emacs",
    "fastlowess", "galsim", "jaxlib", "micromamba", "nb_conda_kernels", "numpy", "ocaml",
    "openblas", "opencv", "openvino", "oxigraph", "pdal", "postgresql", "pypy3.6", "pyqt",
    "r-base", "sbcl", "tiledb", "tzdata", "xgboost", "zig",
})
LICENSE = b"BSD-3-Clause license for the recipe files of this feedstock.\n"


class FeedstockSeed(NamedTuple):
    name: str  # without "-feedstock"
    files: Files
    default_branch: str = "main"
    extra_branches: tuple[str, ...] = ()
    archived: bool = False
    reject_pushes: bool = False
    empty: bool = False
    source: str = "generated"
    pipeline_linked: bool = True  # its Azure pipeline reads the staging token's group


def corpus_feedstocks(*, include_broken: bool) -> list[FeedstockSeed]:
    """The corpus as stored, the feedstocks in WORKABLE_CORPUS first (so a small forge
    is made of layouts the migration handles), each group by name."""
    return list(_corpus(include_broken))


@functools.cache
def _corpus(include_broken: bool) -> tuple[FeedstockSeed, ...]:
    index = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
    seeds = []
    for name in sorted(index):
        traits = set(index[name]["traits"])
        broken = "yaml-error" in traits or "merge-conflict-markers" in traits
        if broken and not include_broken:
            continue
        seeds.append(_from_corpus(name, index[name]))
    return tuple(sorted(seeds, key=lambda s: (s.name not in WORKABLE_CORPUS, s.name)))


def _from_corpus(feedstock: str, entry: dict[str, object]) -> FeedstockSeed:
    name = feedstock.removesuffix("-feedstock")
    files: Files = {p: (d, executable(p)) for p, d in corpus_files(feedstock).items()}
    if not any(p.startswith("recipe/") for p in files):
        files.update(recipe(name))
    if not any(p.startswith(".ci_support/") for p in files):
        files.update(_variants(("linux_64",)))
    files.setdefault("README.md", (_readme(name), False))
    return FeedstockSeed(name, files, source=f"corpus:{entry['repo']}@{entry['commit']}")


def generated_name(index: int) -> str:
    return f"pkg{index:05d}"


def pipeline_linked(index: int) -> bool:
    """A few Azure feedstocks' pipelines still lack the staging group."""
    return index % 20 != 4


def generated(index: int) -> FeedstockSeed:
    name = generated_name(index)
    shape, key = SHAPES[index % len(SHAPES)]
    validated = shape == "validated"
    if validated:
        key = VALIDATED_LAYOUTS[index // len(SHAPES) % len(VALIDATED_LAYOUTS)]
    layout = LAYOUTS[key]
    files = dict(layout_files(layout.feedstock, name, validated=validated))
    files["conda-forge.yml"] = (config(shape, name, provider=layout.provider,
                                       noarch_platforms=layout.noarch_platforms), False)
    files["LICENSE.txt"] = (LICENSE, False)
    files.update(recipe(name))
    return FeedstockSeed(
        name, files,
        extra_branches=("v1.x",) if index % 10 == 3 else (),
        archived=index % 25 == 7,
        source=f"generated:{key}",
        pipeline_linked=pipeline_linked(index),
    )


def config(shape: str, name: str, *, provider: tuple[tuple[str, str], ...] = (),
           noarch_platforms: tuple[str, ...] = ()) -> bytes:
    return templating.render(f"seed/conda-forge/{shape}.yml.j2", name=name, provider=provider,
                             noarch_platforms=noarch_platforms).encode()


def recipe(name: str) -> Files:
    text = templating.render(
        "seed/meta.yaml.j2", name=name, version="1.0.0",
        sha256=hashlib.sha256(name.encode()).hexdigest(), module=name.replace("-", "_"),
        summary=f"The {name} package", maintainers=MAINTAINERS[: 1 + len(name) % 3],
    )
    return {"recipe/meta.yaml": (text.encode(), False)}


def _variants(platforms: tuple[str, ...]) -> Files:
    return {
        f".ci_support/{platform}_.yaml": (
            templating.render("seed/ci_support.yaml.j2", platform=platform.replace("_", "-", 1))
            .encode(), False)
        for platform in platforms
    }


def _readme(name: str) -> bytes:
    return templating.render("seed/readme.md.j2", name=name, summary=f"The {name} package").encode()

