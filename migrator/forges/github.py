"""The GitHub forge: an organisation's feedstocks on GitHub (or on a stand-in server).

REST goes through PyGithub's Requester and one paced session (`github_http`); git goes
over HTTPS with the token in the environment of each git command (`gitauth`). Objects
are built from what listings return, so nothing asks GitHub twice for the same thing.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from github import Auth
from github.GithubException import GithubException
from github.GithubObject import NonCompletableGithubObject
from github.PaginatedList import PaginatedList

from migrator.core.connect import DEFAULT as CONNECT_TIMEOUT
from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges import (
    ForgeError,
    OrgSecretInfo,
    PublicKey,
    PullInfo,
    RepoInfo,
    SecretInfo,
)
from migrator.forges.github_env import auth_from_env, connect_timeout_from_env, pacer_from_env
from migrator.forges.github_git import GitOverHttps
from migrator.forges.github_http import ATTEMPTS, PacedAdapter, Tally, paced_session, requester
from migrator.forges.github_listing import Listing, list_repos
from migrator.forges.pacing import Budget, Pacer
from migrator.forges.sealing import seal

API_URL = "https://api.github.com"
GIT_URL = "https://github.com"
DEFAULT_ORG = "conda-forge"



class _Raw(NonCompletableGithubObject):
    """A listed item exactly as GitHub sent it; reading it never asks for more."""

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes: Any) -> None:
        pass


def github_forge_from_env(
    environ: Mapping[str, str] | None = None, *, org: str | None = None,
    cache_dir: Path | None = None, pacer: Pacer | None = None, **options: Any,
) -> GithubForge:
    """The forge `--forge github` runs on. GITHUB_API_URL and GITHUB_SERVER_URL (set by
    GitHub Actions) choose the server, MIGRATOR_ORG the organisation, MIGRATOR_GITHUB_CACHE
    where the listing's ETags are kept; `options` go to GithubForge (timeout, attempts,
    backoff)."""
    env = os.environ if environ is None else environ
    if cache_dir is None and env.get("MIGRATOR_GITHUB_CACHE"):
        cache_dir = Path(env["MIGRATOR_GITHUB_CACHE"])
    if pacer is None:
        pacer = pacer_from_env(env)
    options.setdefault("connect_timeout", connect_timeout_from_env(env))
    return GithubForge(
        org=org or env.get("MIGRATOR_ORG") or DEFAULT_ORG, auth=auth_from_env(env),
        api_url=env.get("GITHUB_API_URL") or API_URL,
        git_url=env.get("GITHUB_SERVER_URL") or GIT_URL, cache_dir=cache_dir, pacer=pacer,
        **options,
    )


class GithubForge:
    def __init__(self, *, org: str, auth: Auth.Auth, api_url: str = API_URL,
                 git_url: str = GIT_URL, cache_dir: Path | None = None,
                 pacer: Pacer | None = None, timeout: float = 30.0, attempts: int = ATTEMPTS,
                 backoff: float = 1.0, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.org = org
        self.pacer = pacer or Pacer()
        self.tally = Tally()
        self._session = paced_session(PacedAdapter(
            self.pacer, self.tally, attempts=attempts, backoff=backoff,
            connect_timeout=connect_timeout))
        self._rest = requester(auth=auth, base_url=api_url, session=self._session,
                               timeout=timeout, attempts=attempts, backoff=backoff,
                               secondary_wait=self.pacer.secondary_wait,
                               connect_timeout=connect_timeout)
        self.git = GitOverHttps(org=org, git_url=git_url, auth=auth, pacer=self.pacer,
                                attempts=attempts, backoff=backoff,
                                connect_timeout=connect_timeout)
        self._cache = None if cache_dir is None else Path(cache_dir) / f"{org}-repos.json"
        self._org_secrets: dict[str, OrgSecretInfo | None] = {}
        self._org_lock = threading.RLock()  # steps of many feedstocks share what is known
        self._written: dict[tuple[int, str], SecretInfo] = {}
        self.listing: Listing | None = None

    def close(self) -> None:
        self._session.close()

    def budget(self, *, requests_per_feedstock: float = 2.0,
               writes_per_feedstock: float = 1.0) -> Budget | None:
        return self.pacer.budget(requests_per_feedstock=requests_per_feedstock,
                                 writes_per_feedstock=writes_per_feedstock)

    # -- REST plumbing -----------------------------------------------------------------
    def _path(self, repo: str, *rest: str) -> str:
        parts = [urllib.parse.quote(p, safe="") for p in (self.org, repo, *rest)]
        return "/repos/" + "/".join(parts)

    def _org_path(self, *rest: str) -> str:
        return "/orgs/" + "/".join(urllib.parse.quote(p, safe="") for p in (self.org, *rest))

    def _call(self, verb: str, url: str, what: str, *, params: dict[str, Any] | None = None,
              body: Any = None, missing_ok: bool = False) -> Any:
        try:
            _, data = self._rest.requestJsonAndCheck(verb, url, parameters=params, input=body)
        except GithubException as exc:
            if missing_ok and exc.status == 404:
                return None
            message = exc.data.get("message") if isinstance(exc.data, dict) else None
            raise ForgeError(f"{what}: GitHub answered {exc.status}"
                             + (f" ({message})" if message else "")) from None
        return data

    def _items(self, url: str, what: str, *, params: dict[str, Any] | None = None,
               list_item: str = "items") -> list[dict[str, Any]]:
        try:
            pages = PaginatedList(_Raw, self._rest, url, params, list_item=list_item)
            return [item.raw_data for item in pages]
        except GithubException as exc:
            raise ForgeError(f"{what}: GitHub answered {exc.status}") from None

    # -- repositories ------------------------------------------------------------------
    def list_feedstocks(self) -> list[RepoInfo]:
        try:
            self.listing = list_repos(self._rest, self.org, self._cache)
        except GithubException as exc:
            raise UserError(f"cannot list the repositories of {self.org}: GitHub answered "
                            f"{exc.status}") from None
        found = [r for r in self.listing.repos if r.name.endswith("-feedstock")]
        return sorted(found, key=lambda r: r.name)

    def branches(self, repo: RepoInfo) -> list[str]:
        return self.git.branches(repo.name)

    def read_file(self, repo: str, path: str, ref: str | None = None) -> bytes | None:
        data = self._call("GET", self._path(repo, "contents") + "/" + urllib.parse.quote(path),
                          f"reading {path} of {repo}", params={"ref": ref} if ref else None,
                          missing_ok=True)
        if data is None or not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") != "base64":
            raise ForgeError(f"{path} of {repo} is too large for the contents API")
        return base64.b64decode(data.get("content") or "")

    # -- git: the only way code reaches a repository's contents ------------------------
    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        self.git.clone(repo, branch, dest, depth=depth)

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None:
        self.git.fetch(workdir, repo, branch, depth=depth)

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        self.git.push(workdir, repo, branch)

    # -- Actions secrets ---------------------------------------------------------------
    def repo_public_key(self, repo: RepoInfo) -> PublicKey:
        data = self._call("GET", self._path(repo.name, "actions", "secrets", "public-key"),
                          f"the public key of {repo.name}")
        return PublicKey(str(data["key_id"]), str(data["key"]))

    def put_repo_secret(self, repo: RepoInfo, name: str, encrypted_value: str,
                        key_id: str) -> None:
        self._call("PUT", self._path(repo.name, "actions", "secrets", name),
                   f"writing secret {name} of {repo.name}",
                   body={"encrypted_value": encrypted_value, "key_id": key_id})
        self._written[(repo.id, name)] = SecretInfo(name, dt.datetime.now(dt.timezone.utc))

    def write_repo_secret(self, repo: RepoInfo, name: str, value: Secret) -> SecretInfo:
        """Sealed with the repository's key; the record is GitHub's 201/204 answer (its
        time taken on receipt), so confirming the write costs no further request."""
        key = self.repo_public_key(repo)
        self.put_repo_secret(repo, name, seal(key, value), key.key_id)
        return self._written[(repo.id, name)]

    def written_secret(self, repo: RepoInfo, name: str) -> SecretInfo | None:
        """The secret this forge wrote in this run, as GitHub acknowledged it."""
        return self._written.get((repo.id, name))

    def repo_secrets(self, repo: RepoInfo) -> dict[str, SecretInfo]:
        items = self._items(self._path(repo.name, "actions", "secrets"),
                            f"the secrets of {repo.name}", list_item="secrets")
        return {i["name"]: SecretInfo(i["name"], _time(i["updated_at"])) for i in items}

    def org_public_key(self) -> PublicKey:
        data = self._call("GET", self._org_path("actions", "secrets", "public-key"),
                          f"the public key of {self.org}")
        return PublicKey(str(data["key_id"]), str(data["key"]))

    def put_org_secret(self, name: str, encrypted_value: str, key_id: str, *,
                       visibility: str, selected_repository_ids: list[int] | None = None) -> None:
        if visibility not in ("all", "private", "selected"):
            raise ValueError(f"unknown secret visibility {visibility!r}")
        body: dict[str, Any] = {"encrypted_value": encrypted_value, "key_id": key_id,
                                "visibility": visibility}
        if visibility == "selected":
            body["selected_repository_ids"] = sorted(set(selected_repository_ids or []))
        self._call("PUT", self._org_path("actions", "secrets", name),
                   f"writing organisation secret {name}", body=body)
        # what GitHub now holds is known: no need to ask for it again in this run
        with self._org_lock:
            self._org_secrets[name] = OrgSecretInfo(
                name, dt.datetime.now(dt.timezone.utc).replace(microsecond=0), visibility,
                frozenset(body.get("selected_repository_ids", ())))

    def write_org_secret(self, name: str, value: Secret, *, visibility: str,
                         selected_repository_ids: list[int] | None = None) -> None:
        key = self.org_public_key()
        self.put_org_secret(name, seal(key, value), key.key_id, visibility=visibility,
                            selected_repository_ids=selected_repository_ids)

    def org_secret(self, name: str) -> OrgSecretInfo | None:
        """Asked once per run: the answer is kept and updated by this forge's own writes."""
        with self._org_lock:
            if name not in self._org_secrets:
                self._org_secrets[name] = self._fetch_org_secret(name)
            return self._org_secrets[name]

    def _fetch_org_secret(self, name: str) -> OrgSecretInfo | None:
        data = self._call("GET", self._org_path("actions", "secrets", name),
                          f"organisation secret {name}", missing_ok=True)
        if data is None:
            return None
        selected: frozenset[int] = frozenset()
        if data["visibility"] == "selected":
            items = self._items(self._org_path("actions", "secrets", name, "repositories"),
                                f"the repositories of {name}", list_item="repositories")
            selected = frozenset(int(i["id"]) for i in items)
        return OrgSecretInfo(name, _time(data["updated_at"]), data["visibility"], selected)

    def add_org_secret_repo(self, name: str, repo: RepoInfo) -> None:
        info = self.org_secret(name)
        if info is None:
            raise ForgeError(f"organisation secret {name} does not exist")
        if info.visibility != "selected":
            raise ForgeError(f"organisation secret {name} is not limited to selected repos")
        if repo.id in info.selected_repository_ids:
            return
        self._call("PUT", self._org_path("actions", "secrets", name, "repositories",
                                         str(repo.id)),
                   f"letting {repo.name} read {name}")
        with self._org_lock:
            info = self._org_secrets[name] or info
            self._org_secrets[name] = info._replace(
                selected_repository_ids=info.selected_repository_ids | {repo.id})

    # -- conversation with maintainers -------------------------------------------------
    def comment_on_commit(self, repo: str, sha: str, body: str) -> None:
        self._call("POST", self._path(repo, "commits", sha, "comments"),
                   f"commenting on {repo}@{sha[:12]}", body={"body": body})

    def open_issue(self, repo: str, title: str, body: str) -> int:
        """The open issue with this title gets the new body; otherwise a new issue."""
        issues = self._items(self._path(repo, "issues"), f"the issues of {repo}",
                             params={"state": "open", "per_page": 100})
        for issue in issues:
            if issue.get("pull_request") is None and issue.get("title") == title:
                number = int(issue["number"])
                if issue.get("body") != body:
                    self._call("PATCH", self._path(repo, "issues", str(number)),
                               f"updating issue {repo}#{number}", body={"body": body})
                return number
        data = self._call("POST", self._path(repo, "issues"), f"opening an issue in {repo}",
                          body={"title": title, "body": body})
        return int(data["number"])

    def open_pulls(self, repo: str) -> list[PullInfo]:
        pulls = self._items(self._path(repo, "pulls"), f"the pull requests of {repo}",
                            params={"state": "open", "per_page": 100})
        return [PullInfo(int(p["number"]), p["title"], f"refs/pull/{p['number']}/head",
                         p["base"]["ref"], (p.get("user") or {}).get("login", ""))
                for p in pulls]

    def comment_on_pull(self, repo: str, number: int, body: str) -> None:
        self._call("POST", self._path(repo, "issues", str(number), "comments"),
                   f"commenting on {repo}#{number}", body={"body": body})


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
