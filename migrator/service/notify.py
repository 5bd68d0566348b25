"""Telling the maintainers about a failed copy: one comment on the commit, listing each
output once with what happened and what to do, given once per commit and reason.

A request refused as a whole (an invalid token, a token of another provider) is told
too; its text comes from the request alone, so it says nothing about the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from migrator.core import templating
from migrator.forges import Forge
from migrator.service.notices import NoticeLog
from migrator.service.results import OutputResult

log = logging.getLogger(__name__)


def comment_body(*, request_id: str, sha: str, label: str,
                 results: Mapping[str, OutputResult],
                 refusal: OutputResult | None = None) -> str:
    items = sorted(results.items())
    return templating.render(
        "outputs/copy-failed-comment.md.j2", request_id=request_id, sha=sha, label=label,
        refusal=refusal, failed=[(k, r) for k, r in items if not r.ok],
        published=[(k, r) for k, r in items if r.ok],
    )


def reasons(results: Mapping[str, OutputResult],
            refusal: OutputResult | None = None) -> list[str]:
    if refusal is not None:
        return [refusal.kind.value]
    return sorted({r.kind.value for r in results.values() if not r.ok})


def wanted(request: Mapping[str, Any], results: Mapping[str, OutputResult],
           refusal: OutputResult | None = None) -> bool:
    """When the request names a commit, asks for comments, and something failed."""
    return (bool(request.get("git_sha")) and bool(request.get("comment_on_error"))
            and bool(reasons(results, refusal)))


def send(forge: Forge, notices: NoticeLog, *, request_id: str, request: Mapping[str, Any],
         results: Mapping[str, OutputResult], refusal: OutputResult | None = None) -> bool:
    """Comment unless every reason was already told for this commit; True when posted."""
    repo, sha = f"{request['feedstock']}-feedstock", str(request["git_sha"])
    claimed = [r for r in reasons(results, refusal) if notices.claim(repo, sha, r)]
    if not claimed:
        log.info("%s@%s was already told about %s", repo, sha[:12],
                 ", ".join(reasons(results, refusal)))
        return False
    body = comment_body(request_id=request_id, sha=sha, label=request["channel"],
                        results=results, refusal=refusal)
    try:
        forge.comment_on_commit(repo, sha, body)
    except BaseException:
        for reason in claimed:
            notices.release(repo, sha, reason)
        raise
    log.info("commented on %s@%s about request %s", repo, sha[:12], request_id)
    return True
