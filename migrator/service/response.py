"""The answer to a copy request, in today's response shape (`errors`, `valid`, `copied`)
plus a typed result per output."""

from __future__ import annotations

from typing import Any, NamedTuple

from migrator.service.results import Kind, OutputResult

_INVALID = frozenset({Kind.AUTH_FAILED, Kind.PROVIDER_MISMATCH, Kind.BAD_REQUEST,
                      Kind.NOT_OWNER, Kind.HASH_MISMATCH,
                      Kind.LABEL_MISMATCH, Kind.STAGING_MISSING, Kind.BAD_PACKAGE})
_REFUSED = {Kind.BAD_REQUEST: 400, Kind.AUTH_FAILED: 403, Kind.PROVIDER_MISMATCH: 403}


class Report(NamedTuple):
    request_id: str | None
    feedstock: str | None
    results: dict[str, OutputResult]
    error: OutputResult | None = None  # a refusal of the whole request
    done: bool = True

    @property
    def ok(self) -> bool:
        return self.done and self.error is None and all(r.ok for r in self.results.values())

    @property
    def status_code(self) -> int:
        if not self.done:
            return 202
        if self.error is not None:
            return _REFUSED.get(self.error.kind, 503)
        if self.ok:
            return 200
        if any(r.terminal for r in self.results.values()):
            return 403
        return 503

    def to_json(self) -> dict[str, Any]:
        errors = [self.error.message] if self.error else [
            f"{key}: {r.message}" for key, r in sorted(self.results.items()) if not r.ok]
        return {
            "request_id": self.request_id,
            "feedstock": self.feedstock,
            "done": self.done,
            "ok": self.ok,
            "errors": errors,
            "valid": {k: r.kind not in _INVALID for k, r in self.results.items()},
            "copied": {k: r.ok for k, r in self.results.items()},
            "results": {k: r.to_json() for k, r in sorted(self.results.items())},
            **({"error": self.error.to_json()} if self.error else {}),
        }


def from_record(record: dict[str, Any]) -> Report:
    results = {key: OutputResult.from_json(out["result"])
               for key, out in record["outputs"].items() if out.get("result")}
    error = OutputResult.from_json(record["error"]) if record.get("error") else None
    return Report(record["id"], record["request"]["feedstock"], results, error,
                  done=record["state"] == "done")
