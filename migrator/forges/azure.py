"""Azure Pipelines as a CI secret store: each feedstock's build definition in the
`feedstock-builds` project of the `conda-forge` organisation holds its `FEEDSTOCK_TOKEN`
as a secret variable, and links the variable group (`anaconda-org`) that holds the
staging token.

Every change is a read-modify-write of the whole definition: read it, set one variable or
add one group link, put it back with the revision that was read. Other variables and
links are sent back as read; a secret variable comes back from a read without its value
and Azure DevOps keeps the stored value when it is put back so. A definition that changed
in between is read again and the change made anew.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges import RepoInfo
from migrator.forges.azure_env import azure_pacer, azure_pacer_with
from migrator.forges.azure_http import AzureHttp, AzureHttpError, parse_time
from migrator.forges.ci_secrets import FEEDSTOCK_TOKEN, StoreAck, StoreError
from migrator.forges.pacing import Pacer

BASE_URL = "https://dev.azure.com"
ORGANIZATION, PROJECT, GROUP = "conda-forge", "feedstock-builds", "anaconda-org"
# the save-time comment of our revisions: how a later read finds when we wrote the token
WRITE_COMMENT = "FEEDSTOCK_TOKEN set by conda-forge-migrator"
LINK_COMMENT = "variable group linked by conda-forge-migrator"
UPDATE_TRIES = 3
FRESH = 60.0  # seconds a definition read or written by this run is used without re-reading


def azure_pipelines_from_env(environ: Mapping[str, str] | None = None, *,
                             pacer: Pacer | None = None, **options: Any) -> AzurePipelines:
    """The store for a run: AZURE_DEVOPS_TOKEN (a personal access token, never an
    argument), AZURE_DEVOPS_URL (default https://dev.azure.com), and the pacing
    `azure_pacer` reads; `options` go to AzurePipelines."""
    env = os.environ if environ is None else environ
    token = env.get("AZURE_DEVOPS_TOKEN", "").strip()
    if not token:
        raise UserError("the Azure Pipelines store needs a personal access token in "
                        "AZURE_DEVOPS_TOKEN in the environment")
    options.setdefault("base_url", env.get("AZURE_DEVOPS_URL") or BASE_URL)
    return AzurePipelines(pat=Secret(token), pacer=pacer or azure_pacer(env), **options)


class AzurePipelines:
    provider = "azure"

    def __init__(self, *, pat: Secret, organization: str = ORGANIZATION,
                 project: str = PROJECT, base_url: str = BASE_URL, group: str = GROUP,
                 pacer: Pacer | None = None, timeout: float = 30.0, attempts: int = 8,
                 backoff: float = 1.0) -> None:
        self.where = f"{organization}/{project}"
        self.group = group
        self.http = AzureHttp(base_url=base_url, organization=organization, project=project,
                              pat=pat, pacer=pacer or azure_pacer_with(), timeout=timeout,
                              attempts=attempts, backoff=backoff)
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._group_id: int | None = None
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}  # name -> (when, definition)
        self._acks: dict[str, StoreAck] = {}

    def close(self) -> None:
        self.http.close()

    # -- the CISecretStore protocol ------------------------------------------------------
    def write_feedstock_token(self, repo: RepoInfo, token: Secret) -> StoreAck:
        def set_token(definition: dict[str, Any]) -> bool:
            variables = definition.get("variables") or {}
            variables[FEEDSTOCK_TOKEN] = {"value": token.reveal(), "isSecret": True,
                                          "allowOverride": False}
            definition["variables"] = variables
            return True

        written = self._update(repo, set_token, WRITE_COMMENT, secrets=(token,))
        if written is None or not written.get("createdDate"):
            raise StoreError(f"{repo.name}: Azure DevOps did not say when it saved "
                             f"the definition")
        # the revision our PUT created holds the token: its createdDate is the service's
        # own record of when the write was stored
        ack = _ack(repo, written["createdDate"])
        with self._lock:
            self._acks[repo.name] = ack
        return ack

    def feedstock_token_written(self, repo: RepoInfo) -> StoreAck | None:
        with self._lock:
            if repo.name in self._acks:
                return self._acks[repo.name]
        definition = self._read(repo, fresh=False)
        if FEEDSTOCK_TOKEN not in (definition.get("variables") or {}):
            return None
        if definition.get("comment") == WRITE_COMMENT and definition.get("createdDate"):
            return _ack(repo, definition["createdDate"])
        revisions = self._call(repo, "GET", f"/build/definitions/{definition['id']}/revisions")
        dated = sorted((r for r in revisions.get("value", []) if r.get("changedDate")),
                       key=lambda r: int(r.get("revision", 0)))
        if not dated:
            raise StoreError(f"{repo.name}: the definition has no dated revision")
        ours = [r for r in dated if r.get("comment") == WRITE_COMMENT]
        # written by someone else at an unknown revision: the oldest date is the only one
        # the write cannot predate, so a check "written after X" never passes wrongly
        chosen = ours[-1] if ours else dated[0]
        return _ack(repo, chosen["changedDate"])

    def ensure_staging_access(self, repo: RepoInfo) -> None:
        group_id = self._staging_group(repo)

        def link(definition: dict[str, Any]) -> bool:
            groups = definition.get("variableGroups") or []
            if any(g.get("id") == group_id for g in groups):
                return False
            definition["variableGroups"] = [*groups, {"id": group_id, "name": self.group}]
            return True

        self._update(repo, link, LINK_COMMENT)

    # -- reading and writing definitions -------------------------------------------------
    def _call(self, repo: RepoInfo | None, method: str, path: str, *,
              params: dict[str, str] | None = None, body: Any = None,
              secrets: tuple[Secret, ...] = (), conflicts: bool = False) -> Any:
        """The answer's body. With `conflicts`, a 404 raises _Missing and a 409
        _Conflict for the caller to handle; otherwise they fail the feedstock."""
        name = repo.name if repo is not None else "-"
        try:
            answer = self.http.call(method, path, params=params, body=body, label=name,
                                    secrets=secrets)
        except AzureHttpError as exc:
            if exc.status in (203, 401, 403):
                raise UserError(str(exc)) from None
            raise StoreError(f"{name}: {exc}") from None
        if answer.status in (404, 409):
            reason = answer.body.get("message") or "no reason given"
            if not conflicts:
                raise StoreError(f"{name}: {answer.status} to {method} {path}: {reason}")
            raise (_Missing if answer.status == 404 else _Conflict)(reason)
        return answer.body

    def _definition_id(self, repo: RepoInfo) -> int:
        with self._lock:
            if repo.name in self._ids:
                return self._ids[repo.name]
        listed = self._call(repo, "GET", "/build/definitions", params={"name": repo.name})
        found = [d for d in listed.get("value", [])
                 if str(d.get("name", "")).lower() == repo.name.lower()]
        if not found:
            raise StoreError(f"{repo.name}: no Azure Pipelines build definition named "
                             f"{repo.name} in {self.where}")
        if len(found) > 1:
            raise StoreError(f"{repo.name}: {len(found)} build definitions are named "
                             f"{repo.name} in {self.where}")
        with self._lock:
            self._ids[repo.name] = int(found[0]["id"])
        return int(found[0]["id"])

    def _read(self, repo: RepoInfo, *, fresh: bool) -> dict[str, Any]:
        if fresh:
            with self._lock:
                seen = self._seen.get(repo.name)
            if seen is not None and time.monotonic() - seen[0] < FRESH:
                return copy.deepcopy(seen[1])
        definition_id = self._definition_id(repo)
        try:
            definition: dict[str, Any] = self._call(
                repo, "GET", f"/build/definitions/{definition_id}", conflicts=True)
        except (_Missing, _Conflict):
            with self._lock:
                self._ids.pop(repo.name, None)
            raise StoreError(f"{repo.name}: build definition {definition_id} is gone from "
                             f"{self.where}") from None
        self._remember(repo, definition)
        return definition

    def _remember(self, repo: RepoInfo, definition: dict[str, Any]) -> None:
        kept = copy.deepcopy(definition)
        for variable in (kept.get("variables") or {}).values():
            if isinstance(variable, dict) and variable.get("isSecret"):
                variable["value"] = None  # a secret's value is never kept
        with self._lock:
            self._seen[repo.name] = (time.monotonic(), kept)

    def _update(self, repo: RepoInfo, change: Callable[[dict[str, Any]], bool], comment: str,
                *, secrets: tuple[Secret, ...] = ()) -> dict[str, Any] | None:
        """Apply `change` to the definition and put it back; None when it had nothing to
        change. A PUT refused for its revision (Azure DevOps answers 404 or 409) reads
        the definition again."""
        for _ in range(UPDATE_TRIES):
            definition = self._read(repo, fresh=True)
            if not change(definition):
                return None
            definition["comment"] = comment
            try:
                written: dict[str, Any] = self._call(
                    repo, "PUT", f"/build/definitions/{definition['id']}", body=definition,
                    secrets=secrets, conflicts=True)
            except (_Missing, _Conflict):
                with self._lock:
                    self._seen.pop(repo.name, None)
                continue
            finally:
                definition.clear()  # the body may hold a plain token: drop it now
            self._remember(repo, written)
            return written
        raise StoreError(f"{repo.name}: the build definition kept changing or vanished "
                         f"while it was updated ({UPDATE_TRIES} tries)")

    def _staging_group(self, repo: RepoInfo) -> int:
        with self._lock:
            if self._group_id is not None:
                return self._group_id
        listed = self._call(None, "GET", "/distributedtask/variablegroups",
                            params={"groupName": self.group})
        found = [g for g in listed.get("value", []) if g.get("name") == self.group]
        if len(found) != 1:
            raise StoreError(f"{repo.name}: {len(found)} variable groups are named "
                             f"{self.group} in {self.where}, not one")
        with self._lock:
            self._group_id = int(found[0]["id"])
        return self._group_id


def _ack(repo: RepoInfo, stamp: Any) -> StoreAck:
    try:
        return StoreAck(FEEDSTOCK_TOKEN, parse_time(str(stamp)))
    except ValueError as exc:
        raise StoreError(f"{repo.name}: Azure DevOps answered with {exc}") from None


class _Missing(Exception):
    """Azure DevOps answered 404."""


class _Conflict(Exception):
    """Azure DevOps answered 409."""
