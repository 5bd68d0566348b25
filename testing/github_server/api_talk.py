"""Commit comments, issues and pull requests; and the table of every REST route."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Map, Rule

from testing.github_server import api
from testing.github_server.api import NOT_FOUND, Answer, Ctx, error, login_of, user
from testing.github_server.model import Repo, stamp
from testing.github_server.spec import fill


def _repo(ctx: Ctx, owner: str, repo: str) -> Repo | None:
    return ctx.model.repo(repo) if owner == ctx.model.org else None


def commit_comments(ctx: Ctx, owner: str, repo: str, commit_sha: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    if ctx.method == "GET":
        return api.paged(ctx, [c for c in found.comments if c["commit_id"] == commit_sha])
    if found.archived:
        return error(403, "Repository was archived so is read-only.")
    body = ctx.body.get("body")
    if not body:
        return error(422, "Validation Failed")
    with ctx.model.lock:
        number = len(found.comments) + 1
        comment = fill("commit-comment", {
            "id": number, "node_id": f"CC_{found.id}_{number}", "body": body,
            "commit_id": commit_sha, "user": user(login_of(ctx.identity)), "path": None,
            "position": None, "line": None, "author_association": "NONE",
            "url": f"https://api.github.com/repos/{owner}/{repo}/comments/{number}",
            "html_url": f"https://github.com/{owner}/{repo}/commit/{commit_sha}",
            "created_at": stamp(), "updated_at": stamp()})
        found.comments.append(comment)
    return Answer(201, comment)


def _issue_json(ctx: Ctx, repo: Repo, item: dict[str, Any]) -> dict[str, Any]:
    base = f"https://api.github.com/repos/{ctx.model.org}/{repo.name}"
    data = {
        "id": repo.id * 1000 + item["number"], "node_id": f"I_{repo.id}_{item['number']}",
        "number": item["number"], "title": item["title"], "body": item["body"],
        "state": item["state"], "user": user(item["author"]), "labels": [],
        "assignee": None, "milestone": None, "locked": False,
        "comments": len(item.get("comments", [])),
        "closed_at": None, "url": f"{base}/issues/{item['number']}",
        "repository_url": base, "html_url": f"https://github.com/{ctx.model.org}/{repo.name}",
        "created_at": stamp(), "updated_at": stamp(), "author_association": "NONE",
    }
    if item.get("pull"):
        data["pull_request"] = {"url": f"{base}/pulls/{item['number']}", "html_url": None,
                                "diff_url": None, "patch_url": None}
    return fill("issue", data)


def issues(ctx: Ctx, owner: str, repo: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    if ctx.method == "GET":
        state = ctx.args.get("state", "open")
        chosen = [i for i in found.issues if state == "all" or i["state"] == state]
        return api.paged(ctx, [_issue_json(ctx, found, i) for i in chosen])
    if found.archived:
        return error(403, "Repository was archived so is read-only.")
    with ctx.model.lock:
        item = {"number": len(found.issues) + 1, "title": ctx.body["title"],
                "body": ctx.body.get("body") or "", "state": "open",
                "author": login_of(ctx.identity)}
        found.issues.append(item)
    return Answer(201, _issue_json(ctx, found, item))


def issue(ctx: Ctx, owner: str, repo: str, issue_number: int) -> Answer:
    found = _repo(ctx, owner, repo)
    item = None if found is None else next(
        (i for i in found.issues if i["number"] == issue_number), None)
    if found is None or item is None:
        return NOT_FOUND
    with ctx.model.lock:
        for key in ("title", "body", "state"):
            if key in ctx.body:
                item[key] = ctx.body[key]
    return Answer(200, _issue_json(ctx, found, item))


def issue_comments(ctx: Ctx, owner: str, repo: str, issue_number: int) -> Answer:
    """Comments on an issue or a pull request (GitHub keeps both as issues)."""
    found = _repo(ctx, owner, repo)
    item = None if found is None else next(
        (i for i in found.issues if i["number"] == issue_number), None)
    if found is None or item is None:
        return NOT_FOUND
    comments: list[dict[str, Any]] = item.setdefault("comments", [])
    if ctx.method == "GET":
        return api.paged(ctx, comments)
    if found.archived:
        return error(403, "Repository was archived so is read-only.")
    body = ctx.body.get("body")
    if not body:
        return error(422, "Validation Failed")
    with ctx.model.lock:
        number = found.id * 1000 + issue_number * 100 + len(comments) + 1
        base = f"https://api.github.com/repos/{owner}/{repo}"
        comment = fill("issue-comment", {
            "id": number, "node_id": f"IC_{number}", "body": body,
            "user": user(login_of(ctx.identity)), "author_association": "NONE",
            "url": f"{base}/issues/comments/{number}", "issue_url": f"{base}/issues/"
            f"{issue_number}", "html_url": f"https://github.com/{owner}/{repo}/issues/"
            f"{issue_number}#issuecomment-{number}", "created_at": stamp(),
            "updated_at": stamp()})
        comments.append(comment)
    return Answer(201, comment, {"Location": comment["url"]})


def pulls(ctx: Ctx, owner: str, repo: str) -> Answer:
    found = _repo(ctx, owner, repo)
    if found is None:
        return NOT_FOUND
    state = ctx.args.get("state", "open")
    chosen = [i for i in found.issues if i.get("pull") and (state == "all" or i["state"] == state)]
    base = f"https://api.github.com/repos/{owner}/{repo}/pulls"
    items = [fill("pull-request-simple", {
        "id": found.id * 1000 + p["number"], "node_id": f"PR_{found.id}_{p['number']}",
        "number": p["number"], "title": p["title"], "body": p["body"], "state": p["state"],
        "user": user(p["author"]), "url": f"{base}/{p['number']}", "locked": False,
        "head": {"ref": p["head"], "label": f"{p['author']}:{p['head']}", "sha": "0" * 40,
                 "repo": None, "user": user(p["author"])},
        "base": {"ref": p["base"], "label": f"{owner}:{p['base']}", "sha": "0" * 40,
                 "repo": api.repo_json(ctx.model, found), "user": user(owner)},
        "created_at": stamp(), "updated_at": stamp(), "author_association": "CONTRIBUTOR",
        "assignee": None, "milestone": None, "closed_at": None, "merged_at": None,
        "merge_commit_sha": None, "auto_merge": None, "labels": [],
    }) for p in chosen]
    return api.paged(ctx, items)


_R = "/repos/<owner>/<repo>"
_S = "/orgs/<org>/actions/secrets"
ROUTES = Map([
    Rule("/app/installations/<int:installation_id>/access_tokens", endpoint=api.access_token,
         methods=["POST"]),
    Rule("/rate_limit", endpoint=api.rate_limit, methods=["GET"]),
    Rule("/orgs/<org>/repos", endpoint=api.org_repos, methods=["GET"]),
    Rule(f"{_S}/public-key", endpoint=api.org_public_key, methods=["GET"]),
    Rule(f"{_S}/<name>", endpoint=api.org_secret, methods=["GET", "PUT"]),
    Rule(f"{_S}/<name>/repositories", endpoint=api.org_secret_repos, methods=["GET", "PUT"]),
    Rule(f"{_S}/<name>/repositories/<int:repository_id>", endpoint=api.org_secret_repo,
         methods=["PUT", "DELETE"]),
    Rule(_R, endpoint=api.get_repo, methods=["GET"]),
    Rule(f"{_R}/contents/<path:path>", endpoint=api.contents, methods=["GET"]),
    Rule(f"{_R}/actions/secrets", endpoint=api.repo_secrets, methods=["GET"]),
    Rule(f"{_R}/actions/secrets/public-key", endpoint=api.repo_public_key, methods=["GET"]),
    Rule(f"{_R}/actions/secrets/<name>", endpoint=api.put_repo_secret, methods=["PUT"]),
    Rule(f"{_R}/actions/secrets/<name>", endpoint=api.repo_secret, methods=["GET", "DELETE"]),
    Rule(f"{_R}/commits/<commit_sha>/comments", endpoint=commit_comments,
         methods=["GET", "POST"]),
    Rule(f"{_R}/issues", endpoint=issues, methods=["GET", "POST"]),
    Rule(f"{_R}/issues/<int:issue_number>", endpoint=issue, methods=["PATCH"]),
    Rule(f"{_R}/issues/<int:issue_number>/comments", endpoint=issue_comments,
         methods=["GET", "POST"]),
    Rule(f"{_R}/pulls", endpoint=pulls, methods=["GET"]),
], strict_slashes=False)
