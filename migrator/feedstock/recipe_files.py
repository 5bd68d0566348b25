"""Where a feedstock's recipe is, and the files a recipe reader needs, from any source.

`conda-forge.yml` may move the recipe (`recipe_dir: recipe2`) and choose rattler-build
(`conda_build_tool: rattler-build`, which reads `recipe.yaml` first when both files
exist). Every reader takes its files from here, keyed by path from the feedstock root:
from a working copy (through safe_files: no symlinks, size limits), from a git tree,
or from any `read(path)` function such as a forge's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from migrator.feedstock import FeedstockError
from migrator.feedstock.commit_files import CommitFiles
from migrator.feedstock.safe_files import (
    CONFIG_LIMIT,
    RECIPE_LIMIT,
    list_feedstock_dir,
    read_feedstock_file,
)
from migrator.feedstock.yamlload import load_yaml

CONFIG = "conda-forge.yml"
CI_SUPPORT = ".ci_support"
RECIPE_NAMES = ("meta.yaml", "recipe.yaml")
VARIANT_NAMES = ("conda_build_config.yaml", "variants.yaml")
_PATHLIKE = re.compile(r"^[A-Za-z0-9._/-]+$")


class Layout(NamedTuple):
    recipe_dir: str = "recipe"
    prefer_v1: bool = False  # rattler-build: recipe.yaml before meta.yaml

    def paths(self) -> tuple[str, ...]:
        """The recipe and variant files this layout can have, by path."""
        return tuple(f"{self.recipe_dir}/{n}" for n in (*RECIPE_NAMES, *VARIANT_NAMES))

    def recipe(self, files: Mapping[str, bytes]) -> str:
        """The path of the recipe file to read; FeedstockError when there is none."""
        names = RECIPE_NAMES[::-1] if self.prefer_v1 else RECIPE_NAMES
        for name in names:
            if f"{self.recipe_dir}/{name}" in files:
                return f"{self.recipe_dir}/{name}"
        raise FeedstockError(f"no recipe: neither {self.recipe_dir}/meta.yaml nor "
                             f"{self.recipe_dir}/recipe.yaml exists")


def layout_of(config: bytes | None) -> Layout:
    """The layout conda-forge.yml (its bytes, None when absent) gives."""
    if config is None:
        return Layout()
    try:
        text = config.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedstockError(f"{CONFIG} is not UTF-8 text") from None
    # conda-smithy reads this file with PyYAML, where a repeated key is the last one
    data = load_yaml(text, what=CONFIG, allow_duplicate_keys=True)
    if data is None or data == [] or data == {}:
        return Layout()
    if not isinstance(data, dict):
        raise FeedstockError(f"{CONFIG} must hold a mapping at the top level, "
                             f"found {type(data).__name__}")
    return Layout(recipe_dir(data.get("recipe_dir")),
                  prefer_v1=data.get("conda_build_tool") == "rattler-build")


def recipe_dir(value: object) -> str:
    text = str(value) if value else "recipe"
    parts = text.strip("/").split("/")
    if (text.startswith("/") or any(p in ("", ".", "..") for p in parts)
            or not _PATHLIKE.match(text)):
        raise FeedstockError(f"{CONFIG}: recipe_dir {text!r} must be a plain relative path")
    return "/".join(parts)


def read_recipe_inputs(read: Callable[[str], bytes | None], *,
                       ci_support: Iterable[str] = ()) -> dict[str, bytes]:
    """conda-forge.yml, the recipe and variant files of its layout, and the given
    `.ci_support` file names, read with `read(path)` (None: absent)."""
    files: dict[str, bytes] = {}
    config = read(CONFIG)
    if config is not None:
        files[CONFIG] = config
    paths = [*layout_of(config).paths(),
             *(f"{CI_SUPPORT}/{n}" for n in ci_support if n.endswith(".yaml"))]
    for path in paths:
        data = read(path)
        if data is not None:
            files[path] = data
    return files


def workdir_recipe_inputs(root: Path) -> dict[str, bytes]:
    """The recipe inputs of a working copy, every file read through safe_files."""
    def read(path: str) -> bytes | None:
        limit = CONFIG_LIMIT if path == CONFIG else RECIPE_LIMIT
        return read_feedstock_file(root, path, limit=limit)

    return read_recipe_inputs(read, ci_support=list_feedstock_dir(root, CI_SUPPORT) or ())


def commit_recipe_inputs(files: CommitFiles) -> dict[str, bytes]:
    """The recipe inputs as committed (see `CommitFiles`)."""
    def read(path: str) -> bytes | None:
        return files.read(path, limit=CONFIG_LIMIT if path == CONFIG else RECIPE_LIMIT)

    return read_recipe_inputs(read, ci_support=files.list_dir(CI_SUPPORT) or ())
