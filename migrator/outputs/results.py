"""What happened to each output of a copy request, in words a maintainer can act on."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class Kind(str, enum.Enum):
    COPIED = "copied"
    ALREADY_PUBLISHED = "already_published"
    AUTH_FAILED = "auth_failed"
    BAD_REQUEST = "bad_request"
    NOT_OWNER = "not_owner"
    HASH_MISMATCH = "hash_mismatch"
    LABEL_MISMATCH = "label_mismatch"
    STAGING_MISSING = "staging_missing"
    BAD_PACKAGE = "bad_package"
    CONFLICT = "conflict"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    INTERRUPTED = "interrupted"


SUCCESS = frozenset({Kind.COPIED, Kind.ALREADY_PUBLISHED})
# Sending the same request again can succeed for these: an upload still landing on
# staging, a lock held by a long copy, a registry or channel that did not answer, a
# request cut short by a restart before its token was checked.
RETRYABLE = frozenset({Kind.STAGING_MISSING, Kind.BUSY, Kind.UNAVAILABLE, Kind.INTERRUPTED})

ADVICE = {
    Kind.COPIED: "published",
    Kind.ALREADY_PUBLISHED: "already in production with the same bytes; nothing to do",
    Kind.AUTH_FAILED: "the FEEDSTOCK_TOKEN secret of this feedstock was not accepted; "
                      "ask conda-forge/core to rotate the feedstock token",
    Kind.BAD_REQUEST: "the copy request itself is malformed; rerender the feedstock",
    Kind.NOT_OWNER: "this feedstock is not registered as a producer of this package "
                    "name; open an admin request to add it to feedstock-outputs",
    Kind.HASH_MISMATCH: "the file on staging is not the file CI built; rebuild and upload "
                        "again",
    Kind.LABEL_MISMATCH: "the file on staging does not carry the requested label",
    Kind.STAGING_MISSING: "the file is not on the staging channel (yet); check the upload "
                          "step of the CI log, then restart the job",
    Kind.BAD_PACKAGE: "the package is malformed; fix the recipe and rebuild",
    Kind.CONFLICT: "production already has a different file with this name; bump the "
                   "build number and rebuild",
    Kind.BUSY: "another copy of this file was in progress; restart the job",
    Kind.UNAVAILABLE: "a service the copy needs did not answer; restart the job",
    Kind.INTERRUPTED: "the service restarted before the request was checked; restart the job",
}


class OutputResult(NamedTuple):
    kind: Kind
    message: str

    @property
    def ok(self) -> bool:
        return self.kind in SUCCESS

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def terminal(self) -> bool:
        return not self.ok and not self.retryable

    def to_json(self) -> dict[str, Any]:
        return {"result": self.kind.value, "ok": self.ok, "terminal": self.terminal,
                "retryable": self.retryable, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutputResult:
        return cls(Kind(data["result"]), str(data["message"]))


def result(kind: Kind, detail: str = "") -> OutputResult:
    """The maintainer-facing message: what was found, then what to do about it."""
    text = f"{detail}; {ADVICE[kind]}" if detail else ADVICE[kind]
    return OutputResult(kind, text)
