"""The copy request CI sends, as conda-forge's service accepts it:

    {"feedstock": "<name>-feedstock", "outputs": {"<subdir>/<file>": "<hash>"},
     "channel": "main", "git_sha": "...", "hash_type": "sha256" | "md5",
     "provider": "...", "comment_on_error": true}

`channel` (the label) is required; `hash_type` defaults to md5 and `comment_on_error`
to whether a `git_sha` was sent, as upstream. Every value is bounded here, so that
nothing accepted can later fail to be stored (a file name too long for a disk or a
lock is a 400, never a retryable error halfway through a copy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from migrator.channels.dists import BadDist, parse_dist
from migrator.registries.outputs_registry import bare

MAX_OUTPUTS = 100  # each output holds a lock (a file descriptor) while its request runs
# Channels keep hidden temporaries named `.<file>.<pid>.<random>.partial`; with room
# for those, a file name must stay well under the 255 bytes a file system allows.
MAX_FILE_NAME = 200
MAX_SUBDIR = 32
HASH_LENGTHS = {"sha256": 64, "md5": 32}
# GitHub caps repository names at 100 characters, "-feedstock" included
_FEEDSTOCK = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,89}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
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
    outputs = _outputs(body.get("outputs"), hash_type)
    label = body.get("channel")
    if label is None:
        raise BadRequest("'channel' is required: the label to publish to, such as 'main'")
    if not isinstance(label, str) or not _LABEL.match(label):
        raise BadRequest("'channel' must be a label such as 'main'")
    git_sha = body.get("git_sha")
    if git_sha is not None and (not isinstance(git_sha, str) or not _SHA.match(git_sha)):
        raise BadRequest("'git_sha' must be a hexadecimal commit id")
    provider = body.get("provider")
    if provider is not None and (not isinstance(provider, str) or not _PROVIDER.match(provider)):
        raise BadRequest("'provider' must be a CI provider name such as 'github_actions'")
    comment = body.get("comment_on_error", git_sha is not None)
    if comment is None:  # upstream treats an explicit null as false
        comment = False
    if not isinstance(comment, bool):
        raise BadRequest("'comment_on_error' must be true or false")
    return CopyRequest(bare(feedstock), outputs, label, git_sha, hash_type, provider, comment)


def _outputs(outputs: Any, hash_type: str) -> dict[str, str]:
    if not isinstance(outputs, Mapping) or not outputs:
        raise BadRequest("'outputs' must be a non-empty object of '<subdir>/<file>': hash")
    if len(outputs) > MAX_OUTPUTS:
        raise BadRequest(f"'outputs' lists {len(outputs)} files; at most {MAX_OUTPUTS}")
    checked = {}
    for key, value in outputs.items():
        try:
            dist = parse_dist(key)
        except BadDist as exc:
            raise BadRequest(f"'outputs': {exc}") from None
        if len(dist.fn) > MAX_FILE_NAME or len(dist.subdir) > MAX_SUBDIR:
            raise BadRequest(f"'outputs': a file name has at most {MAX_FILE_NAME} characters "
                             f"and a subdir at most {MAX_SUBDIR} ({key[:40]}... is longer)")
        text = value.lower() if isinstance(value, str) else ""
        if len(text) != HASH_LENGTHS[hash_type] or not _HEX.match(text):
            raise BadRequest(f"'outputs': the hash of {key!r} is not a {hash_type} hex digest")
        checked[key] = text
    return checked
