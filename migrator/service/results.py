"""What happened to each output of a copy request, in words a maintainer can act on."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

ADMIN_REQUESTS = "https://github.com/conda-forge/admin-requests"
ADD_OUTPUT = f"{ADMIN_REQUESTS}#add-a-package-output-to-a-feedstock"
TOKEN_RESET = f"{ADMIN_REQUESTS}#reset-your-feedstock-token"


class Kind(str, enum.Enum):
    COPIED = "copied"
    ALREADY_PUBLISHED = "already_published"
    AUTH_FAILED = "auth_failed"  # an invalid token
    PROVIDER_MISMATCH = "provider_mismatch"
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
    Kind.AUTH_FAILED: "ask for a feedstock token reset in conda-forge/admin-requests "
                      f"({TOKEN_RESET}), then restart the job",
    Kind.PROVIDER_MISMATCH: "each CI provider has its own FEEDSTOCK_TOKEN; ask for a "
                            f"feedstock token reset ({TOKEN_RESET}), then restart the job",
    Kind.BAD_REQUEST: "the copy request itself is malformed; rerender the feedstock",
    Kind.NOT_OWNER: "if this feedstock should publish the name, ask for it with an \"add a "
                    "package output to a feedstock\" request in conda-forge/admin-requests "
                    f"({ADD_OUTPUT}), then restart the job",
    Kind.HASH_MISMATCH: "the file on staging is not the file this job built; restart the "
                        "job so that it uploads again",
    Kind.LABEL_MISMATCH: "rebuild with a new build number, so that a fresh file is uploaded "
                         "with the requested label alone",
    Kind.STAGING_MISSING: "check the upload step of the CI log, then restart the job",
    Kind.BAD_PACKAGE: "fix the recipe and rebuild",
    Kind.CONFLICT: "bump the build number and rebuild",
    Kind.BUSY: "restart the job",
    Kind.UNAVAILABLE: "restart the job (https://conda-forge.org/status/ shows outages)",
    Kind.INTERRUPTED: "the service restarted before the request was checked; restart the job",
}
# what was found, when the caller has nothing more precise to say
FINDING = {
    Kind.AUTH_FAILED: "the FEEDSTOCK_TOKEN is not a valid token of this feedstock",
    Kind.PROVIDER_MISMATCH: "the FEEDSTOCK_TOKEN is a token of this feedstock for another "
                            "CI provider",
    Kind.NOT_OWNER: "this feedstock may not publish this package name",
    Kind.HASH_MISMATCH: "the file on staging has other bytes than the request names",
    Kind.LABEL_MISMATCH: "the file on staging does not carry exactly the requested label",
    Kind.STAGING_MISSING: "not on the staging channel",
    Kind.BAD_PACKAGE: "the package file is malformed",
    Kind.CONFLICT: "production already has a different file with this name",
    Kind.BUSY: "another copy of this file was in progress",
    Kind.UNAVAILABLE: "a service the copy needs did not answer",
}


class OutputResult(NamedTuple):
    kind: Kind
    message: str  # what was found, then what to do about it
    detail: str = ""  # what was found, without the file name

    @property
    def ok(self) -> bool:
        return self.kind in SUCCESS

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def terminal(self) -> bool:
        return not self.ok and not self.retryable

    @property
    def remedy(self) -> str:
        return ADVICE[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {"result": self.kind.value, "ok": self.ok, "terminal": self.terminal,
                "retryable": self.retryable, "message": self.message,
                "detail": self.detail, "remedy": self.remedy}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutputResult:
        return cls(Kind(data["result"]), str(data["message"]), str(data.get("detail", "")))


def result(kind: Kind, detail: str = "") -> OutputResult:
    """The maintainer-facing message: what was found, then what to do about it."""
    detail = detail or FINDING.get(kind, "")
    text = f"{detail}; {ADVICE[kind]}" if detail else ADVICE[kind]
    return OutputResult(kind, text, detail)
