"""The outputs of an accepted request: check each on staging, copy it to quarantine and
check it there, publish the ready ones to production (together with other requests'
ready at the same time, `publisher`), then clean quarantine and staging. Runs under
locks on the file names, so concurrent requests for the same file copy it once.

The journal records that the outputs are checked and held in quarantine (their hashes,
records and identities) before anything reaches production; what follows is written
with the answer, and a restart finds it again (a file in production, staging clean).

Each file's bytes are read once: a hard link of the staged file (a download, for a
channel elsewhere) is hashed, scanned and turned into its repodata record in one go
(`output_checks`), and that very inode goes on to quarantine (unlisted there) and to
production as links when the channels are local, its identity compared at each step.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from migrator.channels.base import FileInfo
from migrator.channels.dists import Dist, parse_dist
from migrator.channels.local_place import Changed
from migrator.channels.local_store import Identity, Incoming, identity_of, is_local
from migrator.core import failpoints
from migrator.registries import outputs_registry as registry
from migrator.service import journal as J
from migrator.service.job import Job
from migrator.service.output_checks import Checked, check, not_owner_detail, owner
from migrator.service.publisher import Channels, Ready
from migrator.service.results import Kind, OutputResult, result

__all__ = ["Channels", "Job", "not_owner_detail", "process"]
log = logging.getLogger(__name__)
T = TypeVar("T")
_STRIPES = 1024


def process(job: Job, keys: Sequence[str]) -> dict[str, OutputResult]:
    """Check and quarantine each output, then publish the ready ones together, then
    clean up. Holds the locks of all their names."""
    try:
        with _file_locks(job.locks, keys, timeout=job.lock_timeout), _held(job), \
                job.publisher.preparing():
            results: dict[str, OutputResult] = {}
            ready: list[Ready] = []
            for key in keys:
                outcome = _guarded(key, functools.partial(_prepare, job, parse_dist(key)))
                if isinstance(outcome, Ready):
                    ready.append(outcome)
                else:
                    results[key] = outcome
            if ready:
                # held in quarantine and about to be published: one journal write for
                # all, with what a restart needs to publish them without a new check
                for item in ready:
                    job.record["outputs"][item.dist.key].update(
                        step=J.PUBLISHING, sha256=item.sha256, record=item.record,
                        held=None if item.identity is None else list(item.identity))
                job.journal.save(job.record)
                for _ in ready:
                    failpoints.reached("outputs-quarantined")
                results.update(_publish(job, ready))
            return results
    except TimeoutError:
        busy = result(Kind.BUSY, f"another request was copying one of this request's files "
                                 f"for over {job.lock_timeout:.0f} s")
        return {key: busy for key in keys}


def _guarded(key: str, work: Callable[[], T]) -> T | OutputResult:
    try:
        return work()
    except registry.RegistryError as exc:
        return result(Kind.UNAVAILABLE, str(exc))
    except Exception as exc:  # a channel or disk failure: retrying may well succeed
        log.exception("copying %s failed", key)
        return result(Kind.UNAVAILABLE, f"copying it failed ({type(exc).__name__})")


def _prepare(job: Job, dist: Dist) -> Ready | OutputResult:
    out = job.record["outputs"][dist.key]
    production = job.channels.production.info(dist)
    if production is not None:
        return _already_there(job, dist, production)
    if out["step"] in (J.QUARANTINED, J.PUBLISHING) and out["sha256"]:
        resumed = _resumed(job, dist, out)
        if resumed is not None:
            return resumed
    checked = check(job, dist)
    if isinstance(checked, OutputResult):
        return checked
    sha256 = checked.facts.hashes.sha256
    return _quarantine(job, dist, checked) or Ready(dist, sha256, checked.facts.record,
                                                    checked.identity)


def _resumed(job: Job, dist: Dist, out: dict[str, Any]) -> Ready | None:
    """An output a restart finds checked and in quarantine: its bytes are still those
    (the same inode, unchanged; or quarantine's hash, for a channel elsewhere)."""
    quarantine = job.channels.quarantine
    if is_local(quarantine):
        held = Identity(*out["held"]) if out.get("held") else None
        path = quarantine.path(dist)
        if held is not None and path.exists() and identity_of(path) == held:
            return Ready(dist, out["sha256"], out.get("record"), held)
        return None
    found = quarantine.info(dist)
    if found is not None and found.hashes.sha256 == out["sha256"]:
        return Ready(dist, out["sha256"], None)
    return None


def _already_there(job: Job, dist: Dist, production: FileInfo) -> OutputResult:
    refused = owner(job, dist)
    if refused is not None:
        return refused
    expected = job.request.outputs[dist.key]
    found = production.hashes.get(job.request.hash_type)
    if not hmac.compare_digest(found, expected):
        return result(Kind.CONFLICT, f"production already has a file of this name with "
                                     f"{job.request.hash_type} {found[:12]}..., the request "
                                     f"names {expected[:12]}...")
    out = job.record["outputs"][dist.key]
    kind = Kind.COPIED if out["step"] in (J.PUBLISHING, J.PUBLISHED) else Kind.ALREADY_PUBLISHED
    _clean(job, dist, production.hashes.sha256)
    out["step"] = J.FINISHED  # written with the request's answer
    return result(kind)


def _quarantine(job: Job, dist: Dist, checked: Checked) -> OutputResult | None:
    """Hold the checked bytes in quarantine (recorded in the journal by the caller)."""
    quarantine, label = job.channels.quarantine, job.request.label
    sha256 = checked.facts.hashes.sha256
    if is_local(quarantine):
        # the link carries the very inode that was read, compared with its identity on
        # the way in (its record goes to the journal); other bytes left there by an
        # interrupted attempt go first
        incoming = Incoming(checked.held, dist, checked.facts.record, checked.identity)
        try:
            try:
                quarantine.keep(incoming)
            except FileExistsError:
                job.channels.quarantine.remove(dist)
                quarantine.keep(incoming)
        except Changed:
            return result(Kind.HASH_MISMATCH, "it changed on staging while it was being "
                                              "copied")
        return None
    quarantine.remove(dist)  # a stale copy from an interrupted attempt
    job.channels.staging.copy_to(quarantine, [dist], labels={label})
    held = quarantine.info(dist)
    if held is None or not hmac.compare_digest(held.hashes.sha256, sha256):
        quarantine.remove(dist)
        return result(Kind.HASH_MISMATCH, "it changed on staging while it was being copied")
    return None


def _publish(job: Job, ready: list[Ready]) -> dict[str, OutputResult]:
    """Publish (with whatever other requests have ready), then clean up. The steps
    reached here are written with the request's answer: until then the journal says
    PUBLISHING, from which a restart finds each file in production or publishes it."""
    landed = job.publisher.publish(ready, label=job.request.label)
    results: dict[str, OutputResult] = {}
    done = result(Kind.COPIED)
    for item, ok in zip(ready, landed, strict=True):
        out = job.record["outputs"][item.dist.key]
        if not ok:
            results[item.dist.key] = result(Kind.UNAVAILABLE, "publishing it to production "
                                                              "failed")
            continue
        out.update(step=J.PUBLISHED, result=done.to_json())
        failpoints.reached("outputs-published")
        results[item.dist.key] = _guarded(item.dist.key, functools.partial(
            _finish, job, item))
        if results[item.dist.key].ok:
            out["step"] = J.FINISHED
    return results


def _finish(job: Job, item: Ready) -> OutputResult:
    _clean(job, item.dist, item.sha256)
    return result(Kind.COPIED)


def _clean(job: Job, dist: Dist, sha256: str) -> None:
    """Quarantine first, then staging, and staging only when it holds the published
    bytes (a different upload under the same name is left for its own request)."""
    job.channels.quarantine.remove(dist)
    staged = job.channels.staging.info(dist)
    if staged is not None and staged.hashes.sha256 == sha256:
        job.channels.staging.remove(dist)


@contextlib.contextmanager
def _file_locks(folder: Path, keys: Sequence[str], *, timeout: float) -> Iterator[None]:
    """Locks on the file names (hashed into stripes), taken in one order so that two
    requests sharing names cannot deadlock."""
    # by the case-folded name: two requests for names that differ only in case are
    # serialised, so the second sees the first's file in production and is refused
    stripes = sorted({int(hashlib.sha256(k.casefold().encode()).hexdigest(), 16) % _STRIPES
                      for k in keys})
    deadline = time.monotonic() + timeout
    held: list[int] = []
    try:
        for stripe in stripes:
            fd = _open_lock(folder / f"{stripe:04d}.lock")
            held.append(fd)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(stripe) from None
                    time.sleep(0.02)
        yield
    finally:
        for fd in held:
            os.close(fd)


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def _held(job: Job) -> Iterator[None]:
    """The request's links to (or downloads of) staged files go when it is done."""
    try:
        yield
    finally:
        for path in job.held:
            path.unlink(missing_ok=True)
