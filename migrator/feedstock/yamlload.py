"""Load YAML input files: bounded first, then built by libyaml, every problem one line.

`check_bounds` reads the event stream and refuses oversized, deeply nested or
alias-expanding documents before any object exists. The data is then built with
PyYAML's C loader (fast; ruamel's pure-Python safe loader took seconds per megabyte),
resolving plain scalars the YAML 1.2 way the project has always read these files
(`yes`, `on` and `010` stay what YAML 1.2 says: a string, a string, ten), and refusing
duplicate keys unless asked not to (a rendered meta.yaml repeats keys by design).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from migrator.feedstock import FeedstockError
from migrator.feedstock.yamlbounds import (
    DEFAULT_BOUNDS,
    SAFE_LOADER,
    Bounds,
    YamlSyntaxError,
    YamlTooLarge,
    check_bounds,
    describe,
)

__all__ = ["Bounds", "DEFAULT_BOUNDS", "YamlSyntaxError", "YamlTooLarge", "check_bounds",
           "load_yaml"]

_MERGE = "tag:yaml.org,2002:merge"
# YAML 1.2 core schema, as ruamel.yaml resolves it
_RESOLVERS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", tuple("tTfF")),
    ("tag:yaml.org,2002:float", r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", tuple("-+0123456789.")),
    ("tag:yaml.org,2002:int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", tuple("-+0123456789")),
    (_MERGE, r"^(?:<<)$", ("<",)),
    ("tag:yaml.org,2002:null", r"^(?: ~ |null|Null|NULL | )$", ("~", "n", "N", "")),
    ("tag:yaml.org,2002:timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", tuple("0123456789")),
)
_BASES = {"0b": 2, "0o": 8, "0x": 16}


class _Loader(SAFE_LOADER):
    yaml_implicit_resolvers: dict[Any, Any] = {}
    duplicates_allowed = False

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        if not self.duplicates_allowed:
            seen: set[tuple[str, str]] = set()
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                    continue
                if (key.tag, key.value) in seen:
                    raise ConstructorError(None, None, f"duplicate key {key.value!r}",
                                           key.start_mark)
                seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep=deep)


class _LenientLoader(_Loader):
    duplicates_allowed = True


def _int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    base = _BASES.get(text[:2], 10)
    return sign * int(text[2:] if base != 10 else text, base)


for _tag, _pattern, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern, re.X), list(_first))
_Loader.add_constructor("tag:yaml.org,2002:int", _int)


def load_yaml(text: str, *, what: str, bounds: Bounds = DEFAULT_BOUNDS,
              allow_duplicate_keys: bool = False) -> Any:
    """Plain Python data (dicts, lists, scalars) from `text`; `what` names the file.
    Raises FeedstockError (YamlTooLarge past `bounds`) with a one-line reason."""
    check_bounds(text, what=what, bounds=bounds)
    loader = _LenientLoader if allow_duplicate_keys else _Loader
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(f"{what} is not valid YAML: {describe(exc)}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise FeedstockError(f"{what} is not valid YAML: {exc}") from None
