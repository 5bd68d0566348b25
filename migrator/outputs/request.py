"""The copy request CI sends, as accepted by today's service:

    {"feedstock": "<name>-feedstock", "outputs": {"<subdir>/<file>": "<hash>"},
     "channel": "main", "git_sha": "...", "hash_type": "sha256" | "md5",
     "provider": "...", "comment_on_error": true}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from migrator.outputs.dists import BadDist, parse_dist
from migrator.outputs.registry import bare

MAX_OUTPUTS = 100  # each output holds a lock (a file descriptor) while its request runs
HASH_LENGTHS = {"sha256": 64, "md5": 32}
_FEEDSTOCK = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,200}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_HEX = re.compile(r"^[0-9a-f]+$")
_PROVIDER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class BadRequest(ValueError):
    """The request cannot be acted on; the message names the field and the problem."""


class CopyRequest(NamedTuple):
    feedstock: str  # without -feedstock
    outputs: dict[str, str]  # "<subdir>/<file>" -> lower-case hex hash
    label: str
    git_sha: str | None
    hash_type: str
    provider: str | None
    comment_on_error: bool

    def to_json(self) -> dict[str, Any]:
        return {"feedstock": self.feedstock, "outputs": self.outputs, "channel": self.label,
                "git_sha": self.git_sha, "hash_type": self.hash_type,
                "provider": self.provider, "comment_on_error": self.comment_on_error}


def parse_request(body: Any) -> CopyRequest:
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    feedstock = body.get("feedstock")
    if not isinstance(feedstock, str) or not _FEEDSTOCK.match(bare(feedstock)):
        raise BadRequest("'feedstock' must be a feedstock name such as 'numpy-feedstock'")
    hash_type = body.get("hash_type", "md5")
    if hash_type not in HASH_LENGTHS:
        raise BadRequest("'hash_type' must be 'sha256' or 'md5'")
    outputs = body.get("outputs")
    if not isinstance(outputs, Mapping) or not outputs:
        raise BadRequest("'outputs' must be a non-empty object of '<subdir>/<file>': hash")
    if len(outputs) > MAX_OUTPUTS:
        raise BadRequest(f"'outputs' lists {len(outputs)} files; at most {MAX_OUTPUTS}")
    checked = {}
    for key, value in outputs.items():
        try:
            parse_dist(key)
        except BadDist as exc:
            raise BadRequest(f"'outputs': {exc}") from None
        text = value.lower() if isinstance(value, str) else ""
        if len(text) != HASH_LENGTHS[hash_type] or not _HEX.match(text):
            raise BadRequest(f"'outputs': the hash of {key!r} is not a {hash_type} hex digest")
        checked[key] = text
    label = body.get("channel", "main")
    if not isinstance(label, str) or not _LABEL.match(label):
        raise BadRequest("'channel' must be a label such as 'main'")
    git_sha = body.get("git_sha")
    if git_sha is not None and (not isinstance(git_sha, str) or not _SHA.match(git_sha)):
        raise BadRequest("'git_sha' must be a hexadecimal commit id")
    provider = body.get("provider")
    if provider is not None and (not isinstance(provider, str) or not _PROVIDER.match(provider)):
        raise BadRequest("'provider' must be a CI provider name such as 'github_actions'")
    comment = body.get("comment_on_error", True)
    if not isinstance(comment, bool):
        raise BadRequest("'comment_on_error' must be true or false")
    return CopyRequest(bare(feedstock), checked, label, git_sha, hash_type, provider, comment)
