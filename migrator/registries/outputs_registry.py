"""The outputs registry (`feedstock-outputs`): which feedstocks may publish a name.

    config.json                              {"outputs_path", "shard_level", "shard_fill",
                                              "auto_register_all"}
    outputs/<a>/<b>/<c>/<name>.json          {"feedstocks": ["numpy", ...]}
    feedstock_outputs_autoreg_allowlist.yml  feedstock -> glob patterns (fnmatch)

`<a>/<b>/<c>` are the first `shard_level` letters or digits of the lower-cased name,
padded with `shard_fill`. Feedstock names are stored without `-feedstock`.

The rule is conda-forge's: the feedstocks that may publish a name are those listed in
its file together with those whose allowlist patterns match it (case-sensitive
`fnmatch`). Only when that set is empty does `auto_register_all` decide. A name that
has no file yet is registered to the feedstock that first publishes it.
"""

from __future__ import annotations

import fnmatch
import io
import json
from typing import Any, NamedTuple

from ruamel.yaml import YAML

from migrator.forges import Forge

REPO = "feedstock-outputs"
CONFIG = "config.json"
ALLOWLIST = "feedstock_outputs_autoreg_allowlist.yml"


class RegistryError(Exception):
    """The registry could not be read or holds something unusable."""


class Config(NamedTuple):
    outputs_path: str = "outputs"
    shard_level: int = 3
    shard_fill: str = "z"
    auto_register_all: bool = False


DEFAULT_CONFIG = Config()  # conda-forge's own config.json


class Rules(NamedTuple):
    """What one request's ownership checks read once: the config and the allowlist."""

    config: Config
    allowlist: dict[str, tuple[str, ...]]


class Ownership(NamedTuple):
    allowed: bool
    registered: tuple[str, ...]  # the feedstocks listed in the name's file
    globbed: tuple[str, ...]  # the feedstocks whose allowlist patterns match the name
    pattern: str | None  # this feedstock's matching pattern, if any
    unregistered: bool  # the name has no file: publishing it registers it

    @property
    def owners(self) -> tuple[str, ...]:
        return tuple(sorted({*self.registered, *self.globbed}))


def bare(feedstock: str) -> str:
    name = feedstock.strip().lower()
    return name[: -len("-feedstock")] if name.endswith("-feedstock") else name


def shard_path(name: str, config: Config = DEFAULT_CONFIG) -> str:
    lowered = name.lower()
    letters = [c for c in lowered if c.isascii() and c.isalnum()][: config.shard_level]
    letters += [config.shard_fill] * (config.shard_level - len(letters))
    return f"{config.outputs_path}/{'/'.join(letters)}/{lowered}.json"


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


def parse_config(text: bytes | str | None) -> Config:
    if not text:
        return Config()
    try:
        data: Any = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryError(f"{REPO}/{CONFIG} is not valid JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{REPO}/{CONFIG} must be a JSON object")
    default = Config()
    try:
        config = Config(
            outputs_path=str(data.get("outputs_path", default.outputs_path)).strip("/"),
            shard_level=int(data.get("shard_level", default.shard_level)),
            shard_fill=str(data.get("shard_fill", default.shard_fill)),
            auto_register_all=data.get("auto_register_all", default.auto_register_all),
        )
    except (TypeError, ValueError):
        raise RegistryError(f"{REPO}/{CONFIG}: 'shard_level' must be a number") from None
    if (not config.outputs_path or ".." in config.outputs_path.split("/")
            or not 0 <= config.shard_level <= 8 or len(config.shard_fill) != 1
            or not isinstance(config.auto_register_all, bool)):
        raise RegistryError(f"{REPO}/{CONFIG} holds a value the registry cannot use")
    return config


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
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v)
            for v in data.values() if v is not None):
        raise RegistryError(f"{ALLOWLIST} must map feedstock names to lists of patterns")
    return {bare(str(k)): tuple(v or ()) for k, v in data.items()}


def _read(forge: Forge, path: str) -> bytes | None:
    try:
        return forge.read_file(REPO, path)
    except Exception as exc:
        raise RegistryError(f"cannot read {REPO}/{path}: {exc}") from None


def read_config(forge: Forge) -> Config:
    return parse_config(_read(forge, CONFIG))


def allowlist(forge: Forge) -> dict[str, tuple[str, ...]]:
    return parse_allowlist(_read(forge, ALLOWLIST))


def read_rules(forge: Forge) -> Rules:
    return Rules(read_config(forge), allowlist(forge))


def registered(forge: Forge, name: str, *,
               config: Config = DEFAULT_CONFIG) -> list[str] | None:
    """The feedstocks registered for `name`, or None when the name has no file."""
    path = shard_path(name, config)
    raw = _read(forge, path)
    return None if raw is None else parse_entry(raw, where=f"{REPO}/{path}")


def ownership(forge: Forge, *, feedstock: str, name: str,
              rules: Rules | None = None) -> Ownership:
    """Whether `feedstock` may publish `name`, and who else may."""
    rules = rules if rules is not None else read_rules(forge)
    return judge(feedstock=feedstock, name=name, rules=rules,
                 listed=registered(forge, name, config=rules.config))


def judge(*, feedstock: str, name: str, rules: Rules, listed: list[str] | None) -> Ownership:
    """The rule itself, given the name's registry entry (`listed`, None: no file)."""
    feedstock = bare(feedstock)
    globbed, mine = [], None
    for owner, patterns in rules.allowlist.items():
        hit = next((p for p in patterns if fnmatch.fnmatchcase(name, p)), None)
        if hit is not None:
            globbed.append(owner)
            mine = hit if owner == feedstock else mine
    claimants = {*(listed or ()), *globbed}
    allowed = feedstock in claimants if claimants else rules.config.auto_register_all
    return Ownership(allowed, tuple(listed or ()), tuple(sorted(globbed)), mine,
                     listed is None)
