"""What the rendered files need from the recipe: its names, `about` and maintainers.

`meta.yaml` is jinja first and YAML second, and only valid YAML once conda-build has
applied its selectors; so it is rendered with a lenient jinja2 environment and the few
keys needed are read from the rendered text's blocks. `recipe.yaml` is read the same
way, its `${{ }}` expressions evaluated against its `context:` block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import jinja2

from migrator.errors import StepFailed
from migrator.rerender.blocks import block, child_list, child_scalars, unquote
from migrator.rerender.lenient import lenient_environment

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
    files: Mapping[str, bytes], *, recipe_dir: str, prefer_v1: bool = False
) -> Recipe:
    """The recipe in `recipe_dir`: meta.yaml, else recipe.yaml (the other way round
    when `prefer_v1`, as a feedstock built with rattler-build can carry both)."""
    readers = [("meta.yaml", _render_meta), ("recipe.yaml", None)]
    for filename, expand in readers[::-1] if prefer_v1 else readers:
        path = f"{recipe_dir}/{filename}"
        if path not in files:
            continue
        text = _text(path, files[path])
        if expand is not None:
            return _recipe(path, expand(path, text).splitlines(), context={})
        lines = text.splitlines()
        return _recipe(path, lines, context=_context(path, lines))
    raise StepFailed(
        f"no recipe: neither {recipe_dir}/meta.yaml nor {recipe_dir}/recipe.yaml exists"
    )


def _text(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StepFailed(f"{path} is unreadable: not UTF-8 text") from None


_META_ENV = lenient_environment()
_V1_ENV = lenient_environment(variable_start_string="${{", variable_end_string="}}")


def _render_meta(path: str, text: str) -> str:
    try:
        return _META_ENV.from_string(text).render()
    except jinja2.TemplateSyntaxError as exc:
        raise StepFailed(
            f"{path} is unreadable: jinja error on line {exc.lineno}: {exc.message}"
        ) from None
    except Exception as exc:  # a recipe's own jinja can fail in many ways
        raise StepFailed(f"{path} is unreadable: jinja error: {exc}") from None


def _context(path: str, lines: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, value in child_scalars(block(lines, "context")).items():
        try:  # later keys may use earlier ones
            context[key] = _typed(_expand(path, value, context))
        except StepFailed:
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
    except Exception as exc:
        raise StepFailed(f"{path} is unreadable: cannot evaluate {value!r}: {exc}") from None


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
        except StepFailed:
            continue  # an output name that cannot be evaluated is left out of the README
    # a trailing separator means a variable that only conda-build could fill in
    return {name for name in names if _NAME.match(name) and name[-1] not in "_-."}


def _check_name(path: str, name: str) -> str:
    if not name:
        raise StepFailed(f"{path} has no package name (package: name: is missing or empty)")
    if not _NAME.match(name):
        raise StepFailed(f"{path}: cannot work out the package name (got {name!r})")
    return name
