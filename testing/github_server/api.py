"""The REST operations the forge uses, answering from the model like GitHub would."""

from __future__ import annotations

import base64
import subprocess
import urllib.parse
from collections.abc import Callable
from typing import Any, NamedTuple

import jwt

from migrator.forges import local_keys
from testing.github_server.model import Model, OrgSecret, Repo, stamp
from testing.github_server.spec import fill

DOCS = "https://docs.github.com/rest"


class Answer(NamedTuple):
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


class Ctx(NamedTuple):
    model: Model
    identity: str
    method: str
    args: dict[str, str]
    body: Any
    api_root: str  # e.g. http://127.0.0.1:1234/api/v3
    path: str  # relative to the API root
    authorization: str
    limits: Any  # the server's Limits


def error(status: int, message: str) -> Answer:
    return Answer(status, {"message": message, "documentation_url": DOCS})


NOT_FOUND = error(404, "Not Found")


def user(login: str) -> dict[str, Any]:
    return fill("simple-user", {"login": login, "id": abs(hash(login)) % 10_000_000,
                                "type": "Bot" if login.endswith("[bot]") else "User"})


def login_of(identity: str) -> str:
    return "migrator[bot]" if identity.startswith("installation:") else identity.split(":")[-1]


def repo_json(model: Model, repo: Repo) -> dict[str, Any]:
    full = f"{model.org}/{repo.name}"
    return fill("minimal-repository", {
        "id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name, "full_name": full,
        "private": False, "owner": fill("simple-user", {"login": model.org, "id": model.org_id,
                                                        "type": "Organization"}),
        "html_url": f"https://github.com/{full}", "url": f"https://api.github.com/repos/{full}",
        "description": None, "fork": False, "default_branch": repo.default_branch,
        "archived": repo.archived, "disabled": False, "visibility": "public",
        "pushed_at": repo.pushed_at, "created_at": "2016-01-01T00:00:00Z",
        "updated_at": repo.pushed_at,
    })


def paged(ctx: Ctx, items: list[Any], wrap: Callable[[list[Any]], Any] | None = None) -> Answer:
    per_page = min(int(ctx.args.get("per_page", "30")), 100)
    page = max(int(ctx.args.get("page", "1")), 1)
    chunk = items[(page - 1) * per_page: page * per_page]
    links = []
    last = max((len(items) + per_page - 1) // per_page, 1)
    for rel, number in (("next", page + 1), ("last", last)):
        if page < last:
            query = urllib.parse.urlencode({**ctx.args, "page": number})
            links.append(f'<{ctx.api_root}{ctx.path}?{query}>; rel="{rel}"')
    headers = {"link": ", ".join(links)} if links else {}
    return Answer(200, wrap(chunk) if wrap else chunk, headers)


def _repo(ctx: Ctx, owner: str, repo: str) -> Repo | None:
    return ctx.model.repo(repo) if owner == ctx.model.org else None


# -- App installation tokens --------------------------------------------------------------
def access_token(ctx: Ctx, installation_id: int) -> Answer:
    app = ctx.model.app
    scheme, _, value = ctx.authorization.partition(" ")
    try:
        claims = jwt.decode(value, app.public_pem, algorithms=["RS256"])
    except jwt.PyJWTError as exc:
        return error(401, f"A JSON web token could not be decoded: {exc}")
    if scheme.lower() != "bearer" or str(claims.get("iss")) != str(app.app_id):
        return error(401, "'Issuer' claim ('iss') must be an Integer")
    if installation_id != app.installation_id:
        return NOT_FOUND
    token, expires = ctx.model.issue_token(f"installation:{installation_id}")
    with ctx.model.lock:
        ctx.model.token_exchanges += 1
    return Answer(201, fill("installation-token", {
        "token": token, "expires_at": stamp(expires), "repository_selection": "all",
        "permissions": {"secrets": "write", "contents": "write", "issues": "write",
                        "organization_secrets": "write", "pull_requests": "read"}}))


def rate_limit(ctx: Ctx) -> Answer:
    headers = ctx.limits.headers(ctx.identity)
    core = {"limit": int(headers["x-ratelimit-limit"]),
            "remaining": int(headers["x-ratelimit-remaining"]),
            "reset": int(headers["x-ratelimit-reset"]), "used": int(headers["x-ratelimit-used"])}
    return Answer(200, fill("rate-limit-overview", {"rate": core, "resources": {
        "core": core, "search": core}}))


# -- repositories and contents ------------------------------------------------------------
def org_repos(ctx: Ctx, org: str) -> Answer:
    if org != ctx.model.org:
        return NOT_FOUND
    with ctx.model.lock:
        items = [repo_json(ctx.model, r) for r in ctx.model.listed()]
    return paged(ctx, items)


def get_repo(ctx: Ctx, owner: str, repo: str) -> Answer:
    found = _repo(ctx, owner, repo)
    return NOT_FOUND if found is None else Answer(200, repo_json(ctx.model, found))


def contents(ctx: Ctx, owner: str, repo: str, path: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    ref = ctx.args.get("ref") or found.default_branch
    spec = f"{ref}:{path}"
    kind = _git(found, "cat-file", "-t", spec)
    if kind is None or kind.strip() != b"blob":
        return NOT_FOUND
    data = _git(found, "cat-file", "blob", spec) or b""
    sha = (_git(found, "rev-parse", spec) or b"").decode().strip()
    encoded = base64.encodebytes(data).decode()
    url = f"https://api.github.com/repos/{ctx.model.org}/{repo}/contents/{path}?ref={ref}"
    return Answer(200, fill("content-file", {
        "type": "file", "encoding": "base64", "size": len(data), "name": path.split("/")[-1],
        "path": path, "content": encoded, "sha": sha, "url": url, "git_url": None,
        "html_url": None, "download_url": None,
        "_links": {"self": url, "git": None, "html": None}}))


def _git(repo: Repo, *args: str) -> bytes | None:
    proc = subprocess.run(["git", *args], cwd=repo.git_dir, capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


# -- Actions secrets ----------------------------------------------------------------------
def _public_key(pair: dict[str, str]) -> Answer:
    return Answer(200, fill("actions-public-key", {"key_id": pair["key_id"], "key": pair["key"]}))


def repo_public_key(ctx: Ctx, owner: str, repo: str) -> Answer:
    found = _repo(ctx, owner, repo)
    return NOT_FOUND if found is None else _public_key(found.key)


def _sealed(ctx: Ctx, pair: dict[str, str]) -> Answer | None:
    """GitHub cannot read secrets; this server can, and refuses what would not decrypt."""
    if ctx.body.get("key_id") != pair["key_id"]:
        return error(422, "key_id does not match the current public key")
    try:
        local_keys.decrypt(pair, ctx.body["encrypted_value"])
    except Exception:
        return error(422, "encrypted_value is not a sealed box for this key")
    return None


def put_repo_secret(ctx: Ctx, owner: str, repo: str, name: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    if found.archived:
        return error(403, "Repository was archived so is read-only.")
    refused = _sealed(ctx, found.key)
    if refused:
        return refused
    with ctx.model.lock:
        created = name not in found.secrets
        item = found.secrets.setdefault(name, {"created_at": stamp()})
        item.update(encrypted_value=ctx.body["encrypted_value"], key_id=ctx.body["key_id"],
                    updated_at=stamp())
    return Answer(201, {}) if created else Answer(204)


def _secret_json(name: str, item: dict[str, str]) -> dict[str, Any]:
    return fill("actions-secret", {"name": name, "created_at": item["created_at"],
                                   "updated_at": item["updated_at"]})


def repo_secrets(ctx: Ctx, owner: str, repo: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    items = [_secret_json(n, i) for n, i in sorted(found.secrets.items())]
    return paged(ctx, items, lambda chunk: {"total_count": len(items), "secrets": chunk})


def repo_secret(ctx: Ctx, owner: str, repo: str, name: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None or name not in found.secrets:
        return NOT_FOUND
    if ctx.method == "DELETE":
        with ctx.model.lock:
            del found.secrets[name]
        return Answer(204)
    return Answer(200, _secret_json(name, found.secrets[name]))


def org_public_key(ctx: Ctx, org: str) -> Answer:
    return NOT_FOUND if org != ctx.model.org else _public_key(ctx.model.org_key)


def org_secret(ctx: Ctx, org: str, name: str) -> Answer:
    model = ctx.model
    if org != model.org:
        return NOT_FOUND
    if ctx.method == "PUT":
        refused = _sealed(ctx, model.org_key)
        if refused:
            return refused
        with model.lock:
            old = model.org_secrets.get(name)
            model.org_secrets[name] = OrgSecret(
                ctx.body["encrypted_value"], ctx.body["key_id"], ctx.body["visibility"],
                set(ctx.body.get("selected_repository_ids") or []),
                old.created_at if old else stamp(), stamp())
        return Answer(204) if old else Answer(201, {})
    item = model.org_secrets.get(name)
    if item is None:
        return NOT_FOUND
    data = {"name": name, "created_at": item.created_at, "updated_at": item.updated_at,
            "visibility": item.visibility}
    if item.visibility == "selected":
        data["selected_repositories_url"] = (
            f"https://api.github.com/orgs/{org}/actions/secrets/{name}/repositories")
    return Answer(200, fill("organization-actions-secret", data))


def org_secret_repos(ctx: Ctx, org: str, name: str) -> Answer:
    model = ctx.model
    item = model.org_secrets.get(name) if org == model.org else None
    if item is None:
        return NOT_FOUND
    if ctx.method == "PUT":
        if item.visibility != "selected":
            return error(409, "The visibility of this secret is not 'selected'")
        with model.lock:
            item.selected = set(ctx.body["selected_repository_ids"])
        return Answer(204)
    with model.lock:
        chosen = [repo_json(model, r) for r in model.listed() if r.id in item.selected]
    return paged(ctx, chosen, lambda chunk: {"total_count": len(chosen), "repositories": chunk})


def org_secret_repo(ctx: Ctx, org: str, name: str, repository_id: int) -> Answer:
    model = ctx.model
    item = model.org_secrets.get(name) if org == model.org else None
    if item is None or model.repo_by_id(repository_id) is None:
        return NOT_FOUND
    if item.visibility != "selected":
        return error(409, "The visibility of this secret is not 'selected'")
    with model.lock:
        (item.selected.add if ctx.method == "PUT" else item.selected.discard)(repository_id)
    return Answer(204)
