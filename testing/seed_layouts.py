"""The CI layouts generated feedstocks are made of: files real conda-smithy rendered for a
corpus feedstock, with only the names changed.

A layout is every file of its corpus feedstock except `conda-forge.yml` and `recipe/`
(the generated feedstock brings its own). conda-smithy writes the feedstock's and the
package's name into `README.md` alone among these files, so the README gets the new name
(also in the shields.io badge spelling, `-` and `_` doubled) and everything else stays
byte for byte, `.ci_support/` file names included. Layouts rendered with validation on
lose it through `testing.unpatch` for a feedstock that starts without it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import NamedTuple

from testing.unpatch import unpatch

CORPUS = Path(__file__).resolve().parent / "corpus" / "feedstocks"
_OWN = ("conda-forge.yml",)  # and recipe/: what a generated feedstock brings itself


class Layout(NamedTuple):
    feedstock: str  # corpus folder
    # the conda-forge.yml settings that, with conda-smithy's 2026 defaults, give this
    # layout's jobs; shapes of conda-forge.yml render them in their own style
    provider: tuple[tuple[str, str], ...] = ()
    noarch_platforms: tuple[str, ...] = ()


LAYOUTS = {
    # linux_64 on GitHub Actions
    "github-actions": Layout("conda-forge-repodata-patches-feedstock",
                             provider=(("linux_64", "github_actions"),)),
    # linux_64 on Azure
    "azure-linux": Layout("begins-feedstock", provider=(("linux_64", "azure"),)),
    # noarch, built on linux, osx and windows, all on Azure
    "azure": Layout("nb_conda_kernels-feedstock",
                    provider=(("linux_64", "azure"), ("win_64", "azure")),
                    noarch_platforms=("linux_64", "osx_64", "win_64")),
    # linux on GitHub Actions, osx on Azure
    "mixed": Layout("ambertools-feedstock",
                    provider=(("linux_aarch64", "default"), ("osx_arm64", "default"))),
}


def corpus_files(feedstock: str) -> dict[str, bytes]:
    folder = CORPUS / feedstock
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def executable(path: str) -> bool:
    """Shell scripts are committed executable (mode 100755), as conda-smithy does."""
    return path.endswith(".sh")


@functools.cache
def rendered(feedstock: str, *, validated: bool) -> dict[str, bytes]:
    """A corpus feedstock's rendered files (read once per process), without the
    validation edits unless `validated`."""
    files = {p: d for p, d in corpus_files(feedstock).items()
             if p not in _OWN and not p.startswith("recipe/")}
    return files if validated else unpatch(files)


def layout_files(feedstock: str, name: str, *, validated: bool
                 ) -> dict[str, tuple[bytes, bool]]:
    """The rendered files of `feedstock` for a feedstock called `name`."""
    plain = rendered(feedstock, validated=validated)
    files = {p: (d, executable(p)) for p, d in plain.items()}
    if "README.md" in files:
        files["README.md"] = (_readme(feedstock).fill(name), False)
    return files


class _Renamable(NamedTuple):
    """A text split where a name stands: pieces, and which spelling each gap had."""

    pieces: tuple[bytes, ...]
    badge: tuple[bool, ...]  # the gap before pieces[i + 1] is the badge spelling

    def fill(self, name: str) -> bytes:
        plain, badge = name.encode(), _badge(name).encode()
        out = [self.pieces[0]]
        for is_badge, piece in zip(self.badge, self.pieces[1:], strict=True):
            out += (badge if is_badge else plain, piece)
        return b"".join(out)


def _badge(name: str) -> str:
    return name.replace("-", "--").replace("_", "__")


@functools.cache
def _readme(feedstock: str) -> _Renamable:
    old = feedstock.removesuffix("-feedstock")
    spellings = sorted({old, _badge(old)}, key=len, reverse=True)
    pattern = re.compile(rb"(?<![\w])(" + b"|".join(re.escape(s.encode()) for s in spellings)
                         + rb")(?![\w])")
    parts = pattern.split(rendered(feedstock, validated=True)["README.md"])
    return _Renamable(tuple(parts[0::2]),
                      tuple(p != old.encode() for p in parts[1::2]))

