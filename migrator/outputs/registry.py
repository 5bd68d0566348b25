"""The outputs registry (`feedstock-outputs`): which feedstocks may publish a name.

    outputs/<a>/<b>/<c>/<name>.json        {"feedstocks": ["numpy", ...]}
    feedstock_outputs_autoreg_allowlist.yml  feedstock -> glob patterns (fnmatch)

`<a>/<b>/<c>` are the first three letters or digits of the lower-cased name, padded
with `z`. Feedstock names are stored without `-feedstock`; all comparisons are on
lower-cased names.
"""

from __future__ import annotations

import fnmatch
import io
import json
from typing import Any, NamedTuple

from ruamel.yaml import YAML

from migrator.forge import Forge

REPO = "feedstock-outputs"
ALLOWLIST = "feedstock_outputs_autoreg_allowlist.yml"


class RegistryError(Exception):
    """The registry could not be read or holds something unusable."""


class Ownership(NamedTuple):
    allowed: bool
    registered: tuple[str, ...]  # the feedstocks the name is registered to
    pattern: str | None  # the allowlist pattern that allowed it, if any


def bare(feedstock: str) -> str:
    name = feedstock.strip().lower()
    return name[: -len("-feedstock")] if name.endswith("-feedstock") else name


def shard_path(name: str) -> str:
    lowered = name.lower()
    letters = [c for c in lowered if c.isascii() and c.isalnum()][:3]
    letters += ["z"] * (3 - len(letters))
    return f"outputs/{'/'.join(letters)}/{lowered}.json"


def parse_entry(text: bytes | str, *, where: str) -> list[str]:
    try:
        data: Any = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryError(f"{where} is not valid JSON") from None
    feedstocks = data.get("feedstocks") if isinstance(data, dict) else None
    if not isinstance(feedstocks, list) or not all(isinstance(f, str) for f in feedstocks):
        raise RegistryError(f"{where} has no 'feedstocks' list of names")
    return [bare(f) for f in feedstocks]


def dump_entry(feedstocks: list[str]) -> str:
    return json.dumps({"feedstocks": sorted({bare(f) for f in feedstocks})}) + "\n"


def parse_allowlist(text: bytes | str | None) -> dict[str, tuple[str, ...]]:
    if not text:
        return {}
    try:
        data = YAML(typ="safe").load(io.StringIO(
            text.decode() if isinstance(text, bytes) else text))
    except Exception as exc:
        raise RegistryError(f"{ALLOWLIST} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RegistryError(f"{ALLOWLIST} must map feedstock names to lists of patterns")
    return {bare(str(k)): tuple(str(p).lower() for p in (v or [])) for k, v in data.items()}


def registered(forge: Forge, name: str) -> list[str] | None:
    """The feedstocks registered for `name`, or None when nobody has registered it."""
    path = shard_path(name)
    try:
        raw = forge.read_file(REPO, path)
    except Exception as exc:
        raise RegistryError(f"cannot read {REPO}/{path}: {exc}") from None
    return None if raw is None else parse_entry(raw, where=f"{REPO}/{path}")


def allowlist(forge: Forge) -> dict[str, tuple[str, ...]]:
    try:
        raw = forge.read_file(REPO, ALLOWLIST)
    except Exception as exc:
        raise RegistryError(f"cannot read {REPO}/{ALLOWLIST}: {exc}") from None
    return parse_allowlist(raw)


def ownership(forge: Forge, *, feedstock: str, name: str,
              patterns: dict[str, tuple[str, ...]] | None = None) -> Ownership:
    """A registered name belongs to its feedstocks only; an unregistered one to any
    feedstock with a matching allowlist pattern."""
    feedstock = bare(feedstock)
    owners = registered(forge, name)
    if owners is not None:
        return Ownership(feedstock in owners, tuple(owners), None)
    globs = (patterns if patterns is not None else allowlist(forge)).get(feedstock, ())
    for pattern in globs:
        if fnmatch.fnmatchcase(name.lower(), pattern):
            return Ownership(True, (), pattern)
    return Ownership(False, (), None)
