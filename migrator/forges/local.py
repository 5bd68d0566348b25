"""The embedded default: an organisation on disk that behaves like GitHub where it matters.

Layout under the forge root:

    forge.json                 organisation name and format version
    repos.json                 what GitHub knows of each repository (id, archived, branch)
    git/<name>.git             one bare repository each, feedstocks and registries alike
    secrets/repos/<name>.json  a sealed-box key pair and write-only encrypted secrets
    secrets/org.json           the organisation's key pair and organisation secrets
    comments/<name>.jsonl      commit comments;  issues/<name>.json  issues
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from migrator.core import git as gitcmd
from migrator.core.branch_names import usable_branches
from migrator.core.errors import UserError
from migrator.core.files import locked, read_json, write_json
from migrator.core.git import GitError, git, git_bytes, is_push_race
from migrator.core.secret import Secret
from migrator.forges import (
    ForgeError,
    OrgSecretInfo,
    PublicKey,
    PullInfo,
    PushRejected,
    RepoInfo,
    SecretInfo,
    local_keys,
)
from migrator.forges.local_talk import LocalConversation
from migrator.forges.sealing import seal

FORMAT = 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LocalForge:

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        meta_path = self.root / "forge.json"
        if not meta_path.is_file():
            raise UserError(
                f"{root} is not a local forge (no forge.json); "
                f"create one with: python -m testing forge init {root}"
            )
        meta = read_json(meta_path)
        if meta.get("format") != FORMAT:
            raise UserError(f"{root}: unsupported local forge format {meta.get('format')!r}")
        self.org: str = meta["org"]
        self._repos: dict[str, dict[str, Any]] | None = None
        self.talk = LocalConversation(self.root)
        self._lock = threading.Lock()

    # -- repositories ------------------------------------------------------------------
    def _repo_table(self) -> dict[str, dict[str, Any]]:
        if self._repos is None:
            self._repos = read_json(self.root / "repos.json")
        return self._repos

    def repo(self, name: str) -> RepoInfo:
        meta = self._repo_table().get(name)
        if meta is None:
            raise ForgeError(f"{self.org}/{name} does not exist")
        return _repo_info(name, meta)

    def list_feedstocks(self) -> list[RepoInfo]:
        return [_repo_info(name, meta) for name, meta in sorted(self._repo_table().items())
                if name.endswith("-feedstock")]

    def git_dir(self, name: str) -> Path:
        return self.root / "git" / f"{name}.git"

    def branches(self, repo: RepoInfo) -> list[str]:
        """Every branch; BadBranch naming the first whose name git must never see."""
        out = git("for-each-ref", "--format=%(refname)", "--end-of-options", "refs/heads",
                  cwd=self.git_dir(repo.name))
        names = sorted(line[len("refs/heads/"):] for line in out.splitlines()
                       if line.startswith("refs/heads/"))
        return usable_branches(repo.name, names)

    def set_archived(self, name: str, archived: bool) -> None:
        self._update_repo(name, archived=archived)

    def _update_repo(self, name: str, **fields: Any) -> None:
        with self._lock, locked(self.root / ".repos.lock"):
            table = read_json(self.root / "repos.json")
            if name not in table:
                raise UserError(f"{self.org}/{name} does not exist")
            table[name].update(fields)
            write_json(self.root / "repos.json", table)
            self._repos = table

    def read_file(self, repo: str, path: str, ref: str | None = None) -> bytes | None:
        self._url(repo)
        try:
            return git_bytes("cat-file", "blob", "--end-of-options", f"{ref or 'HEAD'}:{path}",
                             cwd=self.git_dir(repo))
        except GitError:
            return None

    # -- git ---------------------------------------------------------------------------
    def _url(self, name: str) -> str:
        path = self.git_dir(name)
        if not path.is_dir():
            raise ForgeError(f"{self.org}/{name} does not exist")
        return path.as_uri()

    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        args = gitcmd.clone_args(branch, depth, self._url(repo), dest)
        if not git("for-each-ref", "--count=1", "refs/heads", cwd=self.git_dir(repo)).strip():
            raise ForgeError(f"{repo} is empty: it has no commits")
        try:
            git(*args)
        except GitError as exc:
            raise ForgeError(_clone_reason(repo, branch, exc)) from None

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None:
        args = gitcmd.fetch_args(self._url(repo), branch, depth)
        try:
            git(*args, cwd=workdir)
        except GitError as exc:
            if not git("for-each-ref", "--count=1", "refs/heads", cwd=self.git_dir(repo)).strip():
                raise ForgeError(f"{repo} is empty: it has no commits") from None
            raise ForgeError(_clone_reason(repo, branch, exc)) from None

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        args = gitcmd.push_args(self._url(repo), branch)
        try:
            git(*args, cwd=workdir)
        except GitError as exc:
            raise _push_error(repo, branch, exc) from None

    # -- secrets -----------------------------------------------------------------------
    def _secret_file(self, repo: str | None) -> Path:
        if repo is None:
            return self.root / "secrets" / "org.json"
        return self.root / "secrets" / "repos" / f"{repo}.json"

    def _secrets(self, repo: str | None) -> dict[str, Any]:
        path = self._secret_file(repo)
        if path.is_file():
            data: dict[str, Any] = read_json(path)
            return data
        return {"key": local_keys.new_key_pair(), "secrets": {}}

    def _keep(self, repo: str | None, data: dict[str, Any]) -> None:
        write_json(self._secret_file(repo), data)

    def repo_public_key(self, repo: RepoInfo) -> PublicKey:
        with locked(self._secret_file(repo.name).with_suffix(".lock")):
            data = self._secrets(repo.name)
            if not self._secret_file(repo.name).is_file():
                self._keep(repo.name, data)
        return local_keys.public(data["key"])

    def put_repo_secret(self, repo: RepoInfo, name: str, encrypted_value: str,
                        key_id: str) -> None:
        with locked(self._secret_file(repo.name).with_suffix(".lock")):
            data = self._secrets(repo.name)
            _store(data, name, encrypted_value, key_id)
            self._keep(repo.name, data)

    def write_repo_secret(self, repo: RepoInfo, name: str, value: Secret) -> SecretInfo:
        key = self.repo_public_key(repo)
        self.put_repo_secret(repo, name, seal(key, value), key.key_id)
        return self.repo_secrets(repo)[name]

    def repo_secrets(self, repo: RepoInfo) -> dict[str, SecretInfo]:
        data = self._secrets(repo.name)
        return {
            name: SecretInfo(name, dt.datetime.fromisoformat(item["updated_at"]))
            for name, item in data["secrets"].items()
        }

    def org_public_key(self) -> PublicKey:
        with locked(self._secret_file(None).with_suffix(".lock")):
            data = self._secrets(None)
            if not self._secret_file(None).is_file():
                self._keep(None, data)
        return local_keys.public(data["key"])

    def put_org_secret(self, name: str, encrypted_value: str, key_id: str, *,
                       visibility: str, selected_repository_ids: list[int] | None = None) -> None:
        if visibility not in ("all", "private", "selected"):
            raise ValueError(f"unknown secret visibility {visibility!r}")
        with locked(self._secret_file(None).with_suffix(".lock")):
            data = self._secrets(None)
            item = _store(data, name, encrypted_value, key_id)
            item["visibility"] = visibility
            item["selected_repository_ids"] = sorted(set(selected_repository_ids or []))
            self._keep(None, data)

    def write_org_secret(self, name: str, value: Secret, *, visibility: str,
                         selected_repository_ids: list[int] | None = None) -> None:
        key = self.org_public_key()
        self.put_org_secret(name, seal(key, value), key.key_id, visibility=visibility,
                            selected_repository_ids=selected_repository_ids)

    def budget(self) -> None:
        return None  # a directory has no rate limits

    def org_secret(self, name: str) -> OrgSecretInfo | None:
        item = self._secrets(None)["secrets"].get(name)
        if item is None:
            return None
        return OrgSecretInfo(name, dt.datetime.fromisoformat(item["updated_at"]),
                             item["visibility"], frozenset(item["selected_repository_ids"]))

    def add_org_secret_repo(self, name: str, repo: RepoInfo) -> None:
        with locked(self._secret_file(None).with_suffix(".lock")):
            data = self._secrets(None)
            item = data["secrets"].get(name)
            if item is None:
                raise ForgeError(f"organisation secret {name} does not exist")
            if item["visibility"] != "selected":
                raise ForgeError(f"organisation secret {name} is not limited to selected repos")
            item["selected_repository_ids"] = sorted({*item["selected_repository_ids"], repo.id})
            self._keep(None, data)

    def ci_secrets(self, repo: RepoInfo) -> dict[str, str]:
        """What a CI job of `repo` is given: its repository secrets and the organisation
        secrets it may read, decrypted. This is the CI runner's view, not an API call."""
        values: dict[str, str] = {}
        org = self._secrets(None)
        for name, item in org["secrets"].items():
            # local repositories are public, like feedstocks: "private" does not reach them
            visible = item["visibility"] == "all" or (
                item["visibility"] == "selected" and repo.id in item["selected_repository_ids"])
            if visible:
                values[name] = local_keys.decrypt(org["key"], item["encrypted_value"])
        own = self._secrets(repo.name)
        for name, item in own["secrets"].items():
            values[name] = local_keys.decrypt(own["key"], item["encrypted_value"])
        return values

    # -- conversation ------------------------------------------------------------------
    def comment_on_commit(self, repo: str, sha: str, body: str) -> None:
        self.talk.comment_on_commit(repo, sha, body)

    def comments(self, repo: str) -> list[dict[str, str]]:
        return self.talk.comments(repo)

    def open_issue(self, repo: str, title: str, body: str) -> int:
        return self.talk.open_issue(repo, title, body)

    def open_pulls(self, repo: str) -> list[PullInfo]:
        return self.talk.open_pulls(repo)

    def comment_on_pull(self, repo: str, number: int, body: str) -> None:
        self.talk.comment_on_pull(repo, number, body)


def _store(data: dict[str, Any], name: str, encrypted_value: str, key_id: str) -> dict[str, Any]:
    if key_id != data["key"]["key_id"]:
        raise ForgeError(f"secret {name}: key_id {key_id} is not the current public key")
    local_keys.check_sealed(encrypted_value)
    now = _now().isoformat()
    item = data["secrets"].setdefault(name, {"created_at": now})
    item.update(encrypted_value=encrypted_value, key_id=key_id, updated_at=now)
    return item


def _clone_reason(repo: str, branch: str | None, exc: GitError) -> str:
    text = exc.stderr
    if branch and ("not found in upstream" in text or "couldn't find remote ref" in text):
        return f"branch {branch!r} does not exist in {repo}"
    if "does not appear to be a git repository" in text or "does not exist" in text:
        return f"{repo} does not exist"
    return f"could not fetch {repo}: {exc}"


def _push_error(repo: str, branch: str, exc: GitError) -> Exception:
    text = exc.stderr + str(exc)
    if is_push_race(text):
        return PushRejected(f"{repo}@{branch} moved while we worked", race=True)
    if "remote rejected" in text or "hook declined" in text:
        reason = next((ln.strip() for ln in exc.stderr.splitlines()
                       if ln.startswith("remote:") and ln[7:].strip()), "")
        detail = f": {reason[7:].strip()}" if reason else ""
        return PushRejected(f"the remote refused the push to {repo}@{branch}{detail}",
                            race=False)
    return PushRejected(f"push to {repo}@{branch} failed: {exc}", race=False)


def _repo_info(name: str, meta: dict[str, Any]) -> RepoInfo:
    return RepoInfo(meta["id"], name, meta["default_branch"], meta["archived"])
