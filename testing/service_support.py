"""A small local forge for the validation service's tests: the two registry repositories
and the channels, no feedstock repositories (a copy request needs none), so it is made
in a fraction of a second. Registry contents are committed by the tests themselves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.core.secret import Secret
from migrator.forges.local import LocalForge
from migrator.registries import outputs_registry as registry
from migrator.registries import token_file
from migrator.registries.token_hashing import Entry, hash_token
from migrator.service import local_setup as layout
from migrator.service.core import Service
from testing.outputs_support import commit_files
from testing.seed import create_forge


@dataclass
class LightEnv:
    root: Path
    forge: LocalForge
    service: Service

    @property
    def state(self) -> Path:
        return self.service.state_dir

    def comments(self, feedstock: str) -> list[dict[str, str]]:
        return self.forge.comments(f"{feedstock}-feedstock")


def light_env(root: Path, **service_options: Any) -> LightEnv:
    forge = create_forge(root / "forge", count=0, corpus_share=0, workers=1)
    service = layout.local_service(forge, forge_root=forge.root, lock_timeout=30)
    if service_options:
        service = Service(forge=forge, channels=service.channels, state_dir=service.state_dir,
                          lock_timeout=30, **service_options)
    return LightEnv(root, forge, service)


def add_token(env: LightEnv, feedstock: str, *, provider: str | None = None,
              expires_at: float | None = None, keep: Iterable[Entry] = ()
              ) -> tuple[Secret, Entry]:
    """A new token whose hash is the feedstock's registry entry (beside `keep`)."""
    token = Secret.new_token()
    entry = hash_token(token, provider=provider, expires_at=expires_at)
    text = token_file.dump([*keep, entry], now=0.0)
    commit_files(env.forge, "feedstock-tokens", {f"tokens/{feedstock}-feedstock.json": text},
                 env.root)
    return token, entry


def set_outputs(env: LightEnv, owners: Mapping[str, list[str]], *,
                allowlist: Mapping[str, list[str]] | None = None,
                config: Mapping[str, Any] | None = None) -> None:
    """One commit to feedstock-outputs: name files, and the allowlist and config."""
    files = {registry.shard_path(name): registry.dump_entry(list(feedstocks))
             for name, feedstocks in owners.items()}
    if allowlist is not None:
        files[registry.ALLOWLIST] = "".join(
            f"{feedstock}:\n" + "".join(f"- '{p}'\n" for p in patterns)
            for feedstock, patterns in allowlist.items()) or "{}\n"
    if config is not None:
        files[registry.CONFIG] = json.dumps(config, indent=4) + "\n"
    commit_files(env.forge, "feedstock-outputs", files, env.root)
