"""The embedded default's Azure Pipelines: a folder that keeps, like Azure DevOps, one
build definition record per feedstock (variables, linked variable groups, revision) and
the variable groups, with secret values only ever stored sealed.

Layout (beside the local forge, `<forge root>/azure/`):

    store.json              organisation, project, the store's sealed-box key pair
    pipelines/<name>.json   one build definition: id, revision, updated_at, variables,
                            linked group ids
    groups/<name>.json      one variable group (`anaconda-org` holds the staging token)

A secret value is sealed with the store's public key the moment it arrives, and a read
returns names and dates, never a value. `decrypt_variable` and `ci_secrets` open them
with the private key: they are for tests and the demo's CI runner, as Azure's build
agents are the only ones that see the values there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from migrator.core.errors import UserError
from migrator.core.files import locked, read_json, write_json
from migrator.core.secret import Secret
from migrator.forges import RepoInfo, local_keys
from migrator.forges.ci_secrets import FEEDSTOCK_TOKEN, STAGING_TOKEN, StoreAck, StoreError
from migrator.forges.sealing import seal

FORMAT = 1
GROUP = "anaconda-org"


class VariableInfo(NamedTuple):
    name: str
    is_secret: bool
    allow_override: bool
    value: str | None  # None for a secret: the store never gives one back
    updated_at: dt.datetime


class PipelineInfo(NamedTuple):
    id: int
    name: str
    revision: int
    updated_at: dt.datetime
    variables: dict[str, VariableInfo]
    groups: tuple[str, ...]  # names of the linked variable groups


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def create_store(directory: Path, *, organization: str = "conda-forge",
                 project: str = "feedstock-builds") -> LocalPipelines:
    """Make the folder (once; an existing store is kept as it is)."""
    directory = Path(directory)
    with locked(directory / ".store.lock"):
        if not (directory / "store.json").is_file():
            write_json(directory / "store.json", {
                "format": FORMAT, "organization": organization, "project": project,
                "key": local_keys.new_key_pair(), "next_id": 1})
    return LocalPipelines(directory)


def add_pipelines(directory: Path, names: Iterable[str], *, link_group: bool = True) -> None:
    """A build definition for each feedstock not yet registered (the seeder's job, as
    conda-smithy registers a feedstock on Azure), linking the staging group if asked."""
    store = LocalPipelines(directory)
    group = store._group_id(GROUP) if link_group else None
    names = list(names)
    first = store._next_id(len(names))  # one store write for all: a forge has 30,000
    for offset, name in enumerate(names):
        path = store._pipeline_path(name)
        with locked(path.with_suffix(".lock")):
            if path.is_file():
                continue
            write_json(path, {"id": first + offset, "name": name, "revision": 1,
                              "updated_at": _now(), "variables": {},
                              "variable_groups": [] if group is None else [group]})


def create_staging_group(directory: Path, token: Secret, *, name: str = GROUP) -> None:
    """The variable group holding the staging token, sealed (replaced if it exists)."""
    store = LocalPipelines(directory)
    path = store.root / "groups" / f"{name}.json"
    with locked(path.with_suffix(".lock")):
        group = read_json(path) if path.is_file() else {"id": store._next_id(), "name": name}
        now = _now()
        group["variables"] = {STAGING_TOKEN: store._sealed(token, now)}
        group["updated_at"] = now
        write_json(path, group)


class LocalPipelines:
    provider = "azure"

    def __init__(self, directory: Path) -> None:
        self.root = Path(directory).resolve()
        meta_path = self.root / "store.json"
        if not meta_path.is_file():
            raise UserError(f"{directory} is not a local Azure Pipelines store (no store.json)")
        meta = read_json(meta_path)
        if meta.get("format") != FORMAT:
            raise UserError(f"{directory}: unsupported store format {meta.get('format')!r}")
        self.where = f"{meta['organization']}/{meta['project']}"
        self._key: dict[str, str] = meta["key"]

    # -- the CISecretStore protocol ------------------------------------------------------
    def write_feedstock_token(self, repo: RepoInfo, token: Secret) -> StoreAck:
        with self._revision(repo.name) as (record, now):
            record["variables"][FEEDSTOCK_TOKEN] = self._sealed(token, now)
        return StoreAck(FEEDSTOCK_TOKEN, dt.datetime.fromisoformat(now))

    def feedstock_token_written(self, repo: RepoInfo) -> StoreAck | None:
        item = self._record(repo.name)["variables"].get(FEEDSTOCK_TOKEN)
        if item is None:
            return None
        return StoreAck(FEEDSTOCK_TOKEN, dt.datetime.fromisoformat(item["updated_at"]))

    def ensure_staging_access(self, repo: RepoInfo) -> None:
        group = self._group_id(GROUP)
        if group is None:
            raise StoreError(f"{repo.name}: variable group {GROUP} does not exist in "
                             f"{self.where}")
        if group in self._record(repo.name)["variable_groups"]:
            return
        with self._revision(repo.name) as (record, _):
            record["variable_groups"] = sorted({*record["variable_groups"], group})

    # -- reading, as the API would ---------------------------------------------------------
    def pipeline(self, name: str) -> PipelineInfo:
        record = self._record(name)
        groups = {g["id"]: g["name"] for g in self._groups()}
        return PipelineInfo(
            record["id"], name, record["revision"],
            dt.datetime.fromisoformat(record["updated_at"]),
            {key: VariableInfo(key, item["is_secret"], item["allow_override"],
                               None if item["is_secret"] else item.get("value"),
                               dt.datetime.fromisoformat(item["updated_at"]))
             for key, item in record["variables"].items()},
            tuple(groups.get(g, str(g)) for g in record["variable_groups"]))

    # -- for tests and the demo's CI runner only ---------------------------------------------
    def decrypt_variable(self, repo_name: str, name: str) -> str:
        """A variable's value, secrets opened with the private key. Tests and demo only."""
        item = self._record(repo_name)["variables"][name]
        return self._open(item)

    def ci_secrets(self, repo_name: str) -> dict[str, str]:
        """What an Azure job of `repo_name` is given: the variables of its linked groups,
        then its own. Tests and demo only."""
        linked = set(self._record(repo_name)["variable_groups"])
        values = {key: self._open(item) for group in self._groups() if group["id"] in linked
                  for key, item in group["variables"].items()}
        values.update({key: self._open(item) for key, item in
                       self._record(repo_name)["variables"].items()})
        return values

    # -- records -------------------------------------------------------------------------------
    def _pipeline_path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise StoreError(f"{name!r} cannot name a build definition")
        return self.root / "pipelines" / f"{name}.json"

    def _record(self, name: str) -> dict[str, Any]:
        path = self._pipeline_path(name)
        if not path.is_file():
            raise StoreError(f"{name}: no Azure Pipelines build definition named {name} "
                             f"in {self.where}")
        data: dict[str, Any] = read_json(path)
        return data

    @contextlib.contextmanager
    def _revision(self, name: str) -> Iterator[tuple[dict[str, Any], str]]:
        """One revision of a build definition: read under its lock, changed by the body,
        written back (not at all if the body raises)."""
        path = self._pipeline_path(name)
        with locked(path.with_suffix(".lock")):
            record, now = self._record(name), _now()
            yield record, now
            record["revision"] += 1
            record["updated_at"] = now
            write_json(path, record)

    def _groups(self) -> list[dict[str, Any]]:
        return [read_json(p) for p in sorted((self.root / "groups").glob("*.json"))]

    def _group_id(self, name: str) -> int | None:
        return next((g["id"] for g in self._groups() if g["name"] == name), None)

    def _next_id(self, count: int = 1) -> int:
        """The first of `count` new ids, reserved."""
        with locked(self.root / ".store.lock"):
            meta = read_json(self.root / "store.json")
            found = int(meta["next_id"])
            meta["next_id"] = found + count
            write_json(self.root / "store.json", meta)
        return found

    def _sealed(self, value: Secret, at: str) -> dict[str, Any]:
        return {"is_secret": True, "allow_override": False, "updated_at": at,
                "sealed": seal(local_keys.public(self._key), value)}

    def _open(self, item: dict[str, Any]) -> str:
        if item["is_secret"]:
            return local_keys.decrypt(self._key, item["sealed"])
        return str(item.get("value") or "")
