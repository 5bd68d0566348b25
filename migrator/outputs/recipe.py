"""The package names a feedstock's recipe builds, for the outputs registry.

`recipe/meta.yaml` is jinja then YAML: it is rendered in a sandbox where every name the
recipe does not define renders as `«name»`, then read as YAML with duplicate keys
allowed (selector comments are ignored, so every platform's lines are kept: a name
built on any platform is a name the feedstock publishes). `recipe/recipe.yaml` is YAML
whose `${{ }}` expressions are evaluated against its `context:`; both branches of an
`if:` are kept. A name still holding `«var»` is expanded over the values `var` takes in
`recipe/conda_build_config.yaml`, `recipe/variants.yaml` or the rendered
`.ci_support/*.yaml` files; when none gives it, the name is reported as unresolved
rather than guessed.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from ruamel.yaml import YAML

_VARIANT_FILES = ("recipe/conda_build_config.yaml", "recipe/variants.yaml")
RECIPE_FILES = ("recipe/meta.yaml", "recipe/recipe.yaml", *_VARIANT_FILES)
_MARK = re.compile("«([^«»]*)»")
_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*$")
_MAX_EXPANSIONS = 256


class RecipeError(Exception):
    """The recipe cannot be read; the message says why."""


class RecipeOutputs(NamedTuple):
    names: tuple[str, ...]  # lower-cased, sorted, unique
    unresolved: tuple[str, ...]  # names built from values no recipe file defines


class _Unknown(jinja2.ChainableUndefined):
    """A name the recipe does not define: renders as «name», absorbs calls and maths."""

    def __str__(self) -> str:
        return f"«{self._undefined_name or '?'}»"


def _same(self: _Unknown, *args: Any, **kwargs: Any) -> _Unknown:
    return self


def _never(self: _Unknown, other: Any) -> bool:
    return False


for _op in ("__call__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
            "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
            "__rmod__", "__pos__", "__neg__"):
    setattr(_Unknown, _op, _same)
for _op in ("__lt__", "__le__", "__gt__", "__ge__"):
    setattr(_Unknown, _op, _never)


class _Filters(dict[str, Any]):
    """Known filters as given; conda-build's and rattler-build's own yield an unknown."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, self[key])

    def __missing__(self, key: str) -> Any:
        return lambda *args, **kwargs: _Unknown(name=key)


def _environment(**options: Any) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=_Unknown, autoescape=False, **options)
    filters = _Filters(env.filters)
    filters["split"] = lambda value, sep=None: str(value).split(sep)
    env.filters = filters
    # conda-build reads the build environment; here it is empty, so defaults apply
    env.globals.update(environ={}, os=SimpleNamespace(environ={}, sep="/", pathsep=":"))
    return env


_V0 = _environment()
_V1 = _environment(variable_start_string="${{", variable_end_string="}}")


def recipe_outputs(files: Mapping[str, bytes]) -> RecipeOutputs:
    """`files` maps paths under the feedstock root to their bytes: RECIPE_FILES and any
    `.ci_support/*.yaml`."""
    variants: dict[str, list[str]] = {}
    for path in sorted(files):
        if path in _VARIANT_FILES or (path.startswith(".ci_support/")
                                      and path.endswith(".yaml")):
            for key, values in _variants(_load(_text(files, path), path)).items():
                variants[key] = sorted(set(variants.get(key, [])) | set(values))
    if "recipe/recipe.yaml" in files:
        raw = _v1_names(_text(files, "recipe/recipe.yaml"))
    elif "recipe/meta.yaml" in files:
        raw = _v0_names(_text(files, "recipe/meta.yaml"))
    else:
        raise RecipeError("no recipe: neither recipe/meta.yaml nor recipe/recipe.yaml exists")
    names: set[str] = set()
    unresolved: set[str] = set()
    for template in raw:
        for name in _expand(template.strip().lower(), variants):
            (names if _NAME.match(name) else unresolved).add(
                name if _NAME.match(name) else _MARK.sub(r"{\1}", template.strip()))
    if not names and not unresolved:
        raise RecipeError("the recipe names no package")
    return RecipeOutputs(tuple(sorted(names)), tuple(sorted(unresolved)))


def _text(files: Mapping[str, bytes], path: str) -> str:
    try:
        return files[path].decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError(f"{path} is not UTF-8 text") from None


def _load(text: str, path: str) -> Any:
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = True
    try:
        return yaml.load(io.StringIO(text))
    except Exception as exc:
        raise RecipeError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _render(env: SandboxedEnvironment, text: str, context: Mapping[str, Any], path: str
            ) -> str:
    try:
        return env.from_string(text).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError(f"{path}: jinja error on line {exc.lineno}: {exc.message}") from None
    except Exception as exc:  # a recipe's own jinja can fail in many ways
        raise RecipeError(f"{path}: jinja error: {exc}") from None


def _v0_names(text: str) -> list[str]:
    path = "recipe/meta.yaml"
    doc = _load(_render(_V0, text, {}, path), path)
    if not isinstance(doc, dict):
        raise RecipeError(f"{path} is not a mapping")
    outputs = doc.get("outputs")
    if isinstance(outputs, list) and outputs:
        return [str(o["name"]) for o in outputs if isinstance(o, dict) and o.get("name")]
    package = doc.get("package")
    if isinstance(package, dict) and package.get("name"):
        return [str(package["name"])]
    return []


def _v1_names(text: str) -> list[str]:
    path = "recipe/recipe.yaml"
    doc = _load(text, path)
    if not isinstance(doc, dict):
        raise RecipeError(f"{path} is not a mapping")
    context: dict[str, Any] = {}
    for key, value in (doc.get("context") or {}).items():
        context[str(key)] = (_render(_V1, value, context, path)
                             if isinstance(value, str) else value)
    outputs = doc.get("outputs")
    items = list(_branches(outputs)) if isinstance(outputs, list) else [doc]
    names = []
    for item in items:
        package = item.get("package") if isinstance(item, dict) else None
        if isinstance(package, dict) and package.get("name"):
            names.append(_render(_V1, str(package["name"]), context, path))
    return names


def _branches(items: Any) -> Iterator[Any]:
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict) and "if" in item and "then" in item:
            yield from _branches(item["then"])
            yield from _branches(item.get("else", []))
        else:
            yield item


def _variants(doc: Any) -> dict[str, list[str]]:
    if not isinstance(doc, dict):
        return {}
    found = {}
    for key, values in doc.items():
        scalars = [str(v) for v in _branches(values) if isinstance(v, (str, int, float))]
        if scalars:
            found[str(key).lower()] = scalars
    return found


def _expand(name: str, variants: Mapping[str, list[str]]) -> list[str]:
    keys = sorted(set(_MARK.findall(name)))
    if not keys or any(k not in variants for k in keys):
        return [name]
    combos = itertools.islice(itertools.product(*(variants[k] for k in keys)), _MAX_EXPANSIONS)
    return [_fill(name, dict(zip(keys, values, strict=True))) for values in combos]


def _fill(name: str, values: Mapping[str, str]) -> str:
    return _MARK.sub(lambda m: values[m.group(1)].lower(), name)
