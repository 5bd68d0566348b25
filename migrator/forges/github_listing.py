"""The organisation's repositories, page by page, kept on disk with their ETags.

A rerun asks for each page with `If-None-Match`; an unchanged page answers 304, which
GitHub does not count against the primary limit. Pages are sorted by creation date,
oldest first, so a new repository changes only the last page. Only what the bot needs
is kept (id, name, default branch, archived): 30,000 repositories fit in a few MB.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any, NamedTuple

from github.Requester import Requester

from migrator.core.files import atomic_write_text
from migrator.forges import RepoInfo

PER_PAGE = 100
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class Page(NamedTuple):
    etag: str
    repos: list[RepoInfo]
    next: str | None


class Listing(NamedTuple):
    repos: list[RepoInfo]
    requests: int
    not_modified: int


def first_page(org: str) -> str:
    query = urllib.parse.urlencode({"type": "all", "sort": "created", "direction": "asc",
                                    "per_page": PER_PAGE})
    return f"/orgs/{urllib.parse.quote(org)}/repos?{query}"


def list_repos(requester: Requester, org: str, cache: Path | None) -> Listing:
    cached = _load(cache)
    pages: dict[str, Page] = {}
    url: str | None = first_page(org)
    requests = not_modified = 0
    while url is not None and url not in pages:
        known = cached.get(url)
        headers = {"If-None-Match": known.etag} if known else {}
        status, answer_headers, body = requester.requestJson("GET", url, headers=headers)
        requests += 1
        if status == 304 and known is not None:
            page = known
            not_modified += 1
        elif status == 200:
            page = _parse(body, answer_headers)
        else:
            data = json.loads(body) if body else {}
            raise Requester.createException(status, answer_headers, data)
        pages[url] = page
        url = page.next
        if url is None and len(page.repos) == PER_PAGE:
            # a full last page that did not change cannot tell of a page added after it
            url = _following(next(reversed(pages)))
    if cache is not None:
        _save(cache, pages)
    repos = [repo for page in pages.values() for repo in page.repos]
    return Listing(repos, requests, not_modified)


def _parse(body: str, headers: dict[str, Any]) -> Page:
    items = json.loads(body)
    repos = [RepoInfo(int(item["id"]), str(item["name"]),
                      str(item.get("default_branch") or "main"), bool(item.get("archived")))
             for item in items]
    match = _NEXT.search(headers.get("link", ""))
    return Page(headers.get("etag", ""), repos, match.group(1) if match else None)


def _following(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["page"] = str(int(query.get("page", "1")) + 1)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _load(cache: Path | None) -> dict[str, Page]:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return {url: Page(page["etag"], [RepoInfo(*r) for r in page["repos"]], page["next"])
                for url, page in data["pages"].items()}
    except (ValueError, KeyError, TypeError):
        return {}  # a damaged cache only costs full answers


def _save(cache: Path, pages: dict[str, Page]) -> None:
    data = {"pages": {url: {"etag": p.etag, "repos": [list(r) for r in p.repos],
                            "next": p.next} for url, p in pages.items()}}
    atomic_write_text(cache, json.dumps(data, separators=(",", ":")) + "\n")
