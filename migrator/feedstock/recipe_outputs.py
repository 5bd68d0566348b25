"""The package names a feedstock's recipe builds, for the outputs registry.

The recipe is the one conda-forge.yml points at (`recipe_dir`, `conda_build_tool`; see
recipe_files.py). `meta.yaml` is jinja then YAML: it is rendered in a sandbox where
every name the recipe does not define renders as `«name»`, then read as YAML with
duplicate keys allowed (selector comments are ignored, so every platform's lines are
kept: a name built on any platform is a name the feedstock publishes). `recipe.yaml` is
YAML whose `${{ }}` expressions are evaluated against its `context:`; both branches of
an `if:` are kept. A name still holding `«var»` is expanded over the values `var` takes
in the recipe's `conda_build_config.yaml`, `variants.yaml` or the rendered
`.ci_support/*.yaml` files; when none gives it, the name is reported as unresolved
rather than guessed.

All of it runs in a child process under memory, CPU and wall-clock limits (sandbox.py):
a recipe's jinja can loop for ever or build gigabytes, and must not take the bot along.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from migrator.feedstock import FeedstockError, recipe_jinja
from migrator.feedstock.recipe_files import CI_SUPPORT, CONFIG, VARIANT_NAMES, Layout, layout_of
from migrator.feedstock.sandbox import DEFAULT_LIMITS, LimitExceeded, Limits, run_limited
from migrator.feedstock.yamlload import Bounds, load_yaml

# the default layout's recipe files, for callers that read a fixed list;
# recipe_files.read_recipe_inputs() follows conda-forge.yml's recipe_dir instead
RECIPE_FILES = Layout().paths()
# a rendered meta.yaml can be larger than its source; the child's memory limit still holds
BOUNDS = Bounds(max_bytes=4 << 20, max_nodes=200_000, max_depth=64)
_MARK = re.compile("«([^«»]*)»")
_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*$")
_MAX_EXPANSIONS = 256


class RecipeError(FeedstockError):
    """The recipe cannot be read; the message says why."""


class RecipeOutputs(NamedTuple):
    names: tuple[str, ...]  # lower-cased, sorted, unique
    unresolved: tuple[str, ...]  # names built from values no recipe file defines


def recipe_outputs(files: Mapping[str, bytes], *, limits: Limits = DEFAULT_LIMITS
                   ) -> RecipeOutputs:
    """`files` maps paths under the feedstock root to their bytes: conda-forge.yml, the
    recipe files (see recipe_files.read_recipe_inputs) and any `.ci_support/*.yaml`.
    Raises RecipeError, also when reading crosses one of `limits`."""
    try:
        reply = run_limited(_plain_outputs, dict(files), limits=limits)
    except LimitExceeded as exc:
        raise RecipeError(f"reading the recipe {exc.reason}") from exc
    except FeedstockError as exc:
        raise RecipeError(str(exc)) from None
    if not (isinstance(reply, list) and len(reply) == 2 and all(
            isinstance(part, list) and all(isinstance(n, str) for n in part) for part in reply)):
        raise RecipeError("the recipe reader sent a malformed reply")
    return RecipeOutputs(tuple(reply[0]), tuple(reply[1]))


def read_outputs(files: Mapping[str, bytes]) -> RecipeOutputs:
    """recipe_outputs() in this process, without limits: only for a limited child."""
    try:
        return _read(files)
    except RecipeError:
        raise
    except FeedstockError as exc:
        raise RecipeError(str(exc)) from None


def _plain_outputs(files: Mapping[str, bytes]) -> list[list[str]]:
    outputs = read_outputs(files)
    return [list(outputs.names), list(outputs.unresolved)]


def _read(files: Mapping[str, bytes]) -> RecipeOutputs:
    layout = layout_of(files.get(CONFIG))
    variant_files = {f"{layout.recipe_dir}/{n}" for n in VARIANT_NAMES}
    variants: dict[str, list[str]] = {}
    for path in sorted(files):
        if path in variant_files or (path.startswith(f"{CI_SUPPORT}/")
                                     and path.endswith(".yaml")):
            for key, values in _variants(_load(_text(files, path), path)).items():
                variants[key] = sorted(set(variants.get(key, [])) | set(values))
    path = layout.recipe(files)
    if path.endswith("/recipe.yaml"):
        raw = _v1_names(path, _text(files, path))
    else:
        raw = _v0_names(path, _text(files, path))
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
    return load_yaml(text, what=path, bounds=BOUNDS, allow_duplicate_keys=True)


def _render(env: SandboxedEnvironment, text: str, context: Mapping[str, Any], path: str
            ) -> str:
    try:
        return env.from_string(text).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError(f"{path}: jinja error on line {exc.lineno}: {exc.message}") from None
    except (MemoryError, RecursionError):
        raise  # a limit, reported as such by the sandbox
    except Exception as exc:  # a recipe's own jinja can fail in many ways
        raise RecipeError(f"{path}: jinja error: {exc}") from None


def _v0_names(path: str, text: str) -> list[str]:
    doc = _load(_render(recipe_jinja.V0, text, {}, path), path)
    if not isinstance(doc, dict):
        raise RecipeError(f"{path} is not a mapping")
    outputs = doc.get("outputs")
    if isinstance(outputs, list) and outputs:
        return [str(o["name"]) for o in outputs if isinstance(o, dict) and o.get("name")]
    package = doc.get("package")
    if isinstance(package, dict) and package.get("name"):
        return [str(package["name"])]
    return []


def _v1_names(path: str, text: str) -> list[str]:
    doc = _load(text, path)
    if not isinstance(doc, dict):
        raise RecipeError(f"{path} is not a mapping")
    context: dict[str, Any] = {}
    for key, value in (doc.get("context") or {}).items():
        context[str(key)] = (_render(recipe_jinja.V1, value, context, path)
                             if isinstance(value, str) else value)
    outputs = doc.get("outputs")
    items = list(_branches(outputs)) if isinstance(outputs, list) else [doc]
    names = []
    for item in items:
        package = item.get("package") if isinstance(item, dict) else None
        if isinstance(package, dict) and package.get("name"):
            names.append(_render(recipe_jinja.V1, str(package["name"]), context, path))
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
