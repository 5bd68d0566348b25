"""The outputs of an accepted request: check each on staging, copy it to quarantine and
check it there, publish the ready ones to production together, then clean quarantine
and staging. Runs under locks on the file names, so concurrent requests for the same
file copy it once; every step is written to the journal before the next one starts,
so a restart picks up where a crash left off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from migrator.channels.base import Channel, FileInfo
from migrator.channels.dists import Dist, parse_dist
from migrator.channels.package import (
    BadPackage,
    PackageFacts,
    check_new_name,
    inspect_package,
)
from migrator.core import failpoints
from migrator.core.files import locked
from migrator.forges import Forge
from migrator.registries import outputs_registry as registry
from migrator.service import journal as J
from migrator.service.request import CopyRequest
from migrator.service.results import Kind, OutputResult, result

log = logging.getLogger(__name__)
T = TypeVar("T")
_STRIPES = 1024


@dataclass(frozen=True)
class Channels:
    staging: Channel
    quarantine: Channel
    production: Channel


@dataclass
class Job:
    """What processing one request needs; `rules` (the outputs registry's config and
    allowlist) and production's file names per subdir are read once per request."""

    forge: Forge
    channels: Channels
    journal: J.Journal
    record: dict[str, Any]
    request: CopyRequest
    workdir: Path
    locks: Path
    lock_timeout: float
    rules: registry.Rules | None = field(default=None)
    published: dict[str, list[str]] = field(default_factory=dict)  # by subdir


class _Ready(NamedTuple):
    """An output checked, held in quarantine and verified there: ready to publish."""

    dist: Dist
    sha256: str
    record: dict[str, Any] | None


def process(job: Job, keys: Sequence[str]) -> dict[str, OutputResult]:
    """Check and quarantine each output, then publish the ready ones together (one
    repodata update per subdir), then clean up. Holds the locks of all their names."""
    try:
        with _file_locks(job.locks, keys, timeout=job.lock_timeout):
            results: dict[str, OutputResult] = {}
            ready: list[_Ready] = []
            for key in keys:
                outcome = _guarded(key, functools.partial(_prepare, job, parse_dist(key)))
                if isinstance(outcome, _Ready):
                    ready.append(outcome)
                else:
                    results[key] = outcome
            if ready:
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


def _prepare(job: Job, dist: Dist) -> _Ready | OutputResult:
    out = job.record["outputs"][dist.key]
    production = job.channels.production.info(dist)
    if production is not None:
        return _already_there(job, dist, production)
    if out["step"] in (J.QUARANTINED, J.PUBLISHING) and out["sha256"]:
        held = job.channels.quarantine.info(dist)
        if held is not None and held.hashes.sha256 == out["sha256"]:
            return _Ready(dist, out["sha256"], None)  # resumed: already checked
    checked = _check(job, dist)
    if isinstance(checked, OutputResult):
        return checked
    sha256 = checked.hashes.sha256
    job.journal.step(job.record, dist.key, J.CHECKED, sha256=sha256)
    return _quarantine(job, dist, sha256) or _Ready(dist, sha256, checked.record)


def _already_there(job: Job, dist: Dist, production: FileInfo) -> OutputResult:
    owner = _owner(job, dist)
    if owner is not None:
        return owner
    expected = job.request.outputs[dist.key]
    found = production.hashes.get(job.request.hash_type)
    if not hmac.compare_digest(found, expected):
        return result(Kind.CONFLICT, f"production already has a file of this name with "
                                     f"{job.request.hash_type} {found[:12]}..., the request "
                                     f"names {expected[:12]}...")
    step = job.record["outputs"][dist.key]["step"]
    kind = Kind.COPIED if step in (J.PUBLISHING, J.PUBLISHED) else Kind.ALREADY_PUBLISHED
    _clean(job, dist, production.hashes.sha256)
    return result(kind)


def _check(job: Job, dist: Dist) -> PackageFacts | OutputResult:
    request, staging = job.request, job.channels.staging
    found = staging.info(dist)
    if found is None:
        return result(Kind.STAGING_MISSING, f"not on {staging.name}")
    if found.labels != {request.label}:  # exactly the label, as conda-forge requires
        carried = ", ".join(f"'{label}'" for label in sorted(found.labels)) or "no label"
        return result(Kind.LABEL_MISMATCH, f"on {staging.name} it carries {carried}; a copy "
                                           f"to '{request.label}' needs that label alone")
    expected = request.outputs[dist.key]
    if not hmac.compare_digest(found.hashes.get(request.hash_type), expected):
        return result(Kind.HASH_MISMATCH, f"on {staging.name} it has {request.hash_type} "
                      f"{found.hashes.get(request.hash_type)[:12]}..., the request names "
                      f"{expected[:12]}...")
    with _scratch(job.workdir / job.record["id"]) as folder:
        try:
            check_new_name(dist, _names_beside(job, dist))
            local = folder / dist.fn
            staging.download(dist, local)
            facts = inspect_package(local, dist)
        except BadPackage as exc:
            return result(Kind.BAD_PACKAGE, str(exc).replace(str(folder), "."))
    if not hmac.compare_digest(facts.hashes.get(request.hash_type), expected):
        return result(Kind.HASH_MISMATCH, f"it changed on {staging.name} while it was being "
                                          "checked")
    return _owner(job, dist) or facts


def _names_beside(job: Job, dist: Dist) -> list[str]:
    """The names `dist` must not collide with: production's files in its subdir and
    the other files of the same request."""
    if dist.subdir not in job.published:
        job.published[dist.subdir] = job.channels.production.packages(dist.subdir)
    others = [parse_dist(key).fn for key in job.request.outputs
              if key != dist.key and key.startswith(f"{dist.subdir}/")]
    return [*job.published[dist.subdir], *others]


def _owner(job: Job, dist: Dist) -> OutputResult | None:
    if job.rules is None:
        job.rules = registry.read_rules(job.forge)
    owned = registry.ownership(job.forge, feedstock=job.request.feedstock, name=dist.name,
                               rules=job.rules)
    if owned.allowed:
        return None
    return result(Kind.NOT_OWNER, not_owner_detail(dist.name, owned))


def not_owner_detail(name: str, owned: registry.Ownership) -> str:
    """Who may publish the name today, so the maintainers know whom to talk to."""
    parts = []
    if owned.registered:
        parts.append("registered to " + ", ".join(f"{f}-feedstock" for f in owned.registered))
    if owned.globbed:
        parts.append("matched by the allowlist patterns of "
                     + ", ".join(f"{f}-feedstock" for f in owned.globbed))
    if not parts:
        return f"the package name {name} is not registered to any feedstock"
    return f"the package name {name} is " + " and ".join(parts)


def _quarantine(job: Job, dist: Dist, sha256: str) -> OutputResult | None:
    quarantine = job.channels.quarantine
    quarantine.remove(dist)  # a stale copy from an interrupted attempt
    job.channels.staging.copy_to(quarantine, [dist], labels={job.request.label})
    job.journal.step(job.record, dist.key, J.QUARANTINED)
    failpoints.reached("outputs-quarantined")
    held = quarantine.info(dist)
    if held is None or not hmac.compare_digest(held.hashes.sha256, sha256):
        quarantine.remove(dist)
        return result(Kind.HASH_MISMATCH, "it changed on staging while it was being copied")
    return None


def _publish(job: Job, ready: list[_Ready]) -> dict[str, OutputResult]:
    for item in ready:
        job.journal.step(job.record, item.dist.key, J.PUBLISHING)
    records = {i.dist.key: i.record for i in ready if i.record is not None}
    try:
        job.channels.quarantine.copy_to(job.channels.production, [i.dist for i in ready],
                                        labels={job.request.label}, records=records)
    except Exception:  # what did land is found below; the rest is retried by the client
        log.exception("publishing %s failed", ", ".join(i.dist.key for i in ready))
    results = {}
    for item in ready:
        landed = job.channels.production.info(item.dist)
        if landed is None or landed.hashes.sha256 != item.sha256:
            results[item.dist.key] = result(Kind.UNAVAILABLE, "publishing it to production "
                                                              "failed")
            continue
        done = result(Kind.COPIED)
        job.journal.step(job.record, item.dist.key, J.PUBLISHED, result=done.to_json())
        failpoints.reached("outputs-published")
        results[item.dist.key] = _guarded(item.dist.key, functools.partial(_finish, job, item))
    return results


def _finish(job: Job, item: _Ready) -> OutputResult:
    _clean(job, item.dist, item.sha256)
    return result(Kind.COPIED)


def _clean(job: Job, dist: Dist, sha256: str) -> None:
    """Quarantine first, then staging, and staging only when it holds the published
    bytes (a different upload under the same name is left for its own request)."""
    job.channels.quarantine.remove(dist)
    staged = job.channels.staging.info(dist)
    if staged is not None and staged.hashes.sha256 == sha256:
        job.channels.staging.remove(dist)
    job.journal.step(job.record, dist.key, J.FINISHED)


@contextlib.contextmanager
def _file_locks(folder: Path, keys: Sequence[str], *, timeout: float) -> Iterator[None]:
    """Locks on the file names (hashed into stripes), taken in one order so that two
    requests sharing names cannot deadlock."""
    # by the case-folded name: two requests for names that differ only in case are
    # serialised, so the second sees the first's file in production and is refused
    stripes = sorted({int(hashlib.sha256(k.casefold().encode()).hexdigest(), 16) % _STRIPES
                      for k in keys})
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        for stripe in stripes:
            while True:
                try:
                    stack.enter_context(locked(folder / f"{stripe:04d}.lock", blocking=False))
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(stripe) from None
                    time.sleep(0.02)
        yield


@contextlib.contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
