"""What the rendered files need from the recipe: its names, `about` and maintainers.

The file is the one recipe_files.Layout chooses, read in a child process under memory,
CPU and wall-clock limits (sandbox.py). `meta.yaml` is jinja first and YAML second, and
only valid YAML once conda-build has applied its selectors; so it is rendered with a
lenient jinja2 environment and the few keys needed are read from the rendered text's
blocks. `recipe.yaml` is read the same way, its `${{ }}` expressions evaluated against
its `context:` block."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import jinja2

from migrator.feedstock import FeedstockError
from migrator.feedstock.recipe_blocks import block, child_list, child_scalars, unquote
from migrator.feedstock.recipe_files import Layout
from migrator.feedstock.recipe_jinja import V1_DELIMITERS, Lenient, environment
from migrator.feedstock.sandbox import DEFAULT_LIMITS, LimitExceeded, Limits, run_limited

_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.+\-]*$")
_OUTPUT_NAME = re.compile(r"^\s*-\s+name\s*:\s*(\S.*)$")
_OUTPUT_PACKAGE = re.compile(r"^\s*-\s+package\s*:\s*(#.*)?$")
_NESTED_NAME = re.compile(r"^\s+name\s*:\s*(\S.*)$")
_ABOUT_KEYS = {
    "home": "home", "homepage": "home", "license": "license", "summary": "summary",
    "dev_url": "dev_url", "repository": "dev_url", "doc_url": "doc_url",
    "documentation": "doc_url",
}


class Recipe(NamedTuple):
    path: str  # e.g. "recipe/meta.yaml"
    name: str  # the package name
    feedstock_name: str  # extra.feedstock-name when a split recipe sets it, else name
    outputs: tuple[str, ...]  # the package names it builds, sorted
    about: Mapping[str, str]  # home, license, summary, dev_url, doc_url when given
    maintainers: tuple[str, ...]


def read_recipe(
    files: Mapping[str, bytes], *, recipe_dir: str, prefer_v1: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Recipe:
    """The recipe in `recipe_dir`: meta.yaml, else recipe.yaml (the other way round
    when `prefer_v1`, as a feedstock built with rattler-build can carry both). Read in
    a child process under `limits`: a recipe's jinja can loop or grow without end."""
    path = Layout(recipe_dir, prefer_v1=prefer_v1).recipe(files)
    try:
        return run_limited(read_recipe_file, path, files[path], limits=limits)
    except LimitExceeded as exc:
        raise FeedstockError(f"{path} is unreadable: reading it {exc.reason}") from exc


def read_recipe_file(path: str, raw: bytes) -> Recipe:
    """read_recipe() for one file, in this process and without limits."""
    text = _text(path, raw)
    if path.endswith("/meta.yaml"):
        return _recipe(path, _render_meta(path, text).splitlines(), context={})
    lines = text.splitlines()
    return _recipe(path, lines, context=_context(path, lines))


def _text(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedstockError(f"{path} is unreadable: not UTF-8 text") from None


_META_ENV = environment(undefined=Lenient)
_V1_ENV = environment(undefined=Lenient, **V1_DELIMITERS)


def _render_meta(path: str, text: str) -> str:
    try:
        return _META_ENV.from_string(text).render()
    except jinja2.TemplateSyntaxError as exc:
        raise FeedstockError(
            f"{path} is unreadable: jinja error on line {exc.lineno}: {exc.message}"
        ) from None
    except (MemoryError, RecursionError):
        raise  # a limit, reported as such by the sandbox
    except Exception as exc:  # a recipe's own jinja can fail in many ways
        raise FeedstockError(f"{path} is unreadable: jinja error: {exc}") from None


def _context(path: str, lines: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, value in child_scalars(block(lines, "context")).items():
        try:  # later keys may use earlier ones
            context[key] = _typed(_expand(path, value, context))
        except FeedstockError:
            continue  # only the names must evaluate; other context entries may not
    return context


def _typed(value: str) -> Any:
    """YAML's reading of a plain scalar, for the few types expressions compare."""
    if re.fullmatch(r"[-+]?[0-9]+", value):
        return int(value)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", value):
        return float(value)
    return {"true": True, "false": False}.get(value.lower(), value)


def _expand(path: str, value: str, context: Mapping[str, Any]) -> str:
    if "${{" not in value:
        return value
    try:
        return _V1_ENV.from_string(value).render(context)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise FeedstockError(f"{path} is unreadable: cannot evaluate {value!r}: {exc}") from None


def _recipe(path: str, lines: list[str], *, context: Mapping[str, Any]) -> Recipe:
    package = child_scalars(block(lines, "package")) or child_scalars(block(lines, "recipe"))
    name = _check_name(path, _expand(path, package.get("name", ""), context).strip())
    extra_lines = block(lines, "extra")
    extra = child_scalars(extra_lines)
    feedstock = extra.get("feedstock-name") or extra.get("feedstock_name")
    about: dict[str, str] = {}
    for key, value in child_scalars(block(lines, "about")).items():
        if key in _ABOUT_KEYS and value:
            about.setdefault(_ABOUT_KEYS[key], _expand(path, value, context))
    maintainers = {m for m in child_list(extra_lines, "recipe-maintainers") if m}
    outputs = _output_names(block(lines, "outputs"), path=path, context=context)
    return Recipe(
        path=path,
        name=name,
        feedstock_name=_check_name(path, _expand(path, feedstock, context)) if feedstock else name,
        outputs=tuple(sorted(outputs)) or (name,),
        about=about,
        maintainers=tuple(sorted(maintainers)),
    )


def _output_names(lines: list[str], *, path: str, context: Mapping[str, Any]) -> set[str]:
    """`- name: x` items (meta.yaml) and `- package:` / `name: x` items (recipe.yaml)."""
    raw = []
    after_package = False
    for line in lines:
        if match := _OUTPUT_NAME.match(line):
            raw.append(match.group(1))
        elif after_package and (match := _NESTED_NAME.match(line)):
            raw.append(match.group(1))
        if line.strip():
            after_package = bool(_OUTPUT_PACKAGE.match(line))
    names = set()
    for value in raw:
        try:
            names.add(_expand(path, unquote(value), context).strip())
        except FeedstockError:
            continue  # an output name that cannot be evaluated is left out of the README
    # a trailing separator means a variable that only conda-build could fill in
    return {name for name in names if _NAME.match(name) and name[-1] not in "_-."}


def _check_name(path: str, name: str) -> str:
    if not name:
        raise FeedstockError(f"{path} has no package name (package: name: is missing or empty)")
    if not _NAME.match(name):
        raise FeedstockError(f"{path}: cannot work out the package name (got {name!r})")
    return name
