"""What must hold of an output before it is copied: on staging with exactly the
requested label and hash, a plain package under its own name that collides with no
published name, and a name the feedstock may publish.

The package's bytes are read once, from a hard link of the staged file (a download,
for a channel elsewhere) that is then what goes on to quarantine: its identity is
taken before the read and compared after it, so the bytes checked are the bytes held.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from migrator.channels.dists import Dist, parse_dist
from migrator.channels.local_store import Identity, identity_of, is_local
from migrator.channels.package import (
    BadPackage,
    PackageFacts,
    check_new_name,
    inspect_package,
)
from migrator.registries import outputs_registry as registry
from migrator.service.job import Job
from migrator.service.results import Kind, OutputResult, result

# reading packages is bound by the CPU: more threads at it than cores only contend
_READERS = threading.BoundedSemaphore(os.cpu_count() or 2)


class Checked(NamedTuple):
    facts: PackageFacts
    held: Path  # the bytes that were read (a link to the staged file, or a download)
    identity: Identity  # of `held` while it was read


def check(job: Job, dist: Dist) -> Checked | OutputResult:
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
    held = job.workdir / f"{job.record['id']}.{len(job.held)}"
    job.held.append(held)
    try:
        check_new_name(dist, _names_beside(job, dist))
        held.unlink(missing_ok=True)
        if is_local(staging):
            staging.hold(dist, held)
        else:
            staging.download(dist, held)
        before = identity_of(held)
        with _READERS:
            facts = inspect_package(held, dist)
    except BadPackage as exc:
        return result(Kind.BAD_PACKAGE, str(exc).replace(str(held), dist.fn))
    if identity_of(held) != before or not hmac.compare_digest(
            facts.hashes.get(request.hash_type), expected):
        return result(Kind.HASH_MISMATCH, f"it changed on {staging.name} while it was being "
                                          "checked")
    return owner(job, dist) or Checked(facts, held, before)


def _names_beside(job: Job, dist: Dist) -> list[str]:
    """The names `dist` must not collide with: production's files in its subdir (those
    differing only in case, when production can tell them itself) and the other files
    of the same request. Production is read once per request and subdir: a file whose
    name differs only in case takes the same lock (`_file_locks`), which this request
    holds, so no such file can be published meanwhile."""
    if dist.subdir not in job.published:
        production = job.channels.production
        twins = getattr(production, "twins", None)
        job.published[dist.subdir] = twins(dist.subdir) if twins else _listing(
            production.packages(dist.subdir))
    others = [parse_dist(key).fn for key in job.request.outputs
              if key != dist.key and key.startswith(f"{dist.subdir}/")]
    return [*job.published[dist.subdir](dist.fn), *others]


def _listing(names: list[str]) -> Callable[[str], list[str]]:
    return lambda fn: names


def owner(job: Job, dist: Dist) -> OutputResult | None:
    feedstock = job.request.feedstock
    if job.snapshot is None:
        job.snapshot = job.names.snapshot()
    owned = job.snapshot.ownership(feedstock=feedstock, name=dist.name)
    if not owned.allowed and job.snapshot.began < job.arrived:
        # refused on what was read before the request came: read again, then decide
        job.snapshot = job.names.snapshot(newer_than=job.arrived)
        owned = job.snapshot.ownership(feedstock=feedstock, name=dist.name)
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
