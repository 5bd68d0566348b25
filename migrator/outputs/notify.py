"""One comment on the commit when a copy fails, listing what happened to each output."""

from __future__ import annotations

import logging
from typing import Any

from migrator import templating
from migrator.forge import Forge
from migrator.outputs.results import OutputResult

log = logging.getLogger(__name__)


def comment_body(*, request_id: str, sha: str, label: str,
                 results: dict[str, OutputResult]) -> str:
    items = sorted(results.items())
    return templating.render(
        "outputs/copy-failed-comment.md.j2", request_id=request_id, sha=sha, label=label,
        results=items, failed=[k for k, r in items if not r.ok],
        retryable=any(r.retryable for _, r in items),
        terminal=any(r.terminal for _, r in items),
    )


def wanted(record: dict[str, Any], results: dict[str, OutputResult]) -> bool:
    """Only authenticated requests that name a commit and ask for it: an unauthenticated
    request must not make the service write to anyone's repository."""
    request = record["request"]
    return (record.get("error") is None and bool(request.get("git_sha"))
            and bool(request.get("comment_on_error"))
            and any(not r.ok for r in results.values()))


def send(forge: Forge, record: dict[str, Any], results: dict[str, OutputResult]) -> None:
    request = record["request"]
    body = comment_body(request_id=record["id"], sha=request["git_sha"],
                        label=request["channel"], results=results)
    forge.comment_on_commit(f"{request['feedstock']}-feedstock", request["git_sha"], body)
    log.info("commented on %s-feedstock@%s about request %s", request["feedstock"],
             request["git_sha"][:12], record["id"])
