"""What the stand-in Azure DevOps knows: one project's build definitions (variables, secret
variables whose values it keeps but never shows, linked variable groups, revisions) and
its variable groups."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def stamp(at: float | None = None) -> str:
    """A timestamp as Azure DevOps (.NET) writes it: seven fraction digits and `Z`."""
    at = time.time() if at is None else at
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    return f"{whole}.{int((at % 1) * 10_000_000):07d}Z"


@dataclass
class Variable:
    value: str | None
    is_secret: bool = False
    allow_override: bool = False

    def shown(self) -> dict[str, Any]:
        return {"value": None if self.is_secret else self.value, "isSecret": self.is_secret,
                "allowOverride": self.allow_override}


@dataclass
class Revision:
    number: int
    changed: str
    comment: str
    change_type: str  # add | update


@dataclass
class Definition:
    id: int
    name: str
    variables: dict[str, Variable] = field(default_factory=dict)
    groups: list[int] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return self.revisions[-1].number

    def save(self, comment: str, at: float | None = None) -> Revision:
        number = self.revisions[-1].number + 1 if self.revisions else 1
        made = Revision(number, stamp(at), comment, "update" if self.revisions else "add")
        self.revisions.append(made)
        return made


@dataclass
class Group:
    id: int
    name: str
    variables: dict[str, Variable] = field(default_factory=dict)
    modified: str = field(default_factory=stamp)


class Model:
    def __init__(self, organization: str, project: str) -> None:
        self.organization, self.project = organization, project
        self.project_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{organization}/{project}"))
        self.lock = threading.RLock()
        self.definitions: dict[int, Definition] = {}
        self.groups: dict[int, Group] = {}
        self._next_id = 1

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_definition(self, name: str, *, variables: dict[str, Variable] | None = None,
                       groups: tuple[str, ...] = (), revisions: int = 1,
                       created: float | None = None) -> Definition:
        with self.lock:
            found = Definition(self._new_id(), name, dict(variables or {}),
                               [self.group_named(g).id for g in groups])
            start = time.time() - 86_400 if created is None else created
            for i in range(revisions):
                found.save("" if i else "created by conda-smithy", start + i)
            self.definitions[found.id] = found
            return found

    def add_group(self, name: str, variables: dict[str, Variable]) -> Group:
        with self.lock:
            group = Group(self._new_id(), name, dict(variables))
            self.groups[group.id] = group
            return group

    def definition_named(self, name: str) -> Definition:
        with self.lock:
            return next(d for d in self.definitions.values() if d.name == name)

    def group_named(self, name: str) -> Group:
        with self.lock:
            return next(g for g in self.groups.values() if g.name == name)

    def ci_secrets(self, name: str) -> dict[str, str]:
        """What a job of this definition is given: its variables and those of the groups it
        links, values included. The CI runner's view, not an API answer."""
        with self.lock:
            found = self.definition_named(name)
            values = {k: v.value for g in found.groups if g in self.groups
                      for k, v in self.groups[g].variables.items() if v.value is not None}
            values.update({k: v.value for k, v in found.variables.items()
                           if v.value is not None})
            return values
