"""Where each member of a package ends up once installed, following its links.

Checking a link's target by itself is not enough: `a/b -> ..` and `a/c -> b/..` each
stay inside the prefix on paper, yet `a/c` resolves to the prefix's parent, because
`b/..` is taken after `b` has been followed. So paths are resolved the way the kernel
does while an installer extracts: component by component, every link in the package
followed where it stands, up to 40 links per path (Linux's own limit), with names
compared ignoring case, as on macOS and Windows. A member whose location, or a link
whose target, leaves the prefix is refused, and so is a `..` that climbs out of a
directory the package does not itself contain: another package could make that
directory a link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from migrator.channels.package_archive import Member

MAX_LINKS = 40


class Escape(NamedTuple):
    member: str
    reason: str


class _Refused(Exception):
    pass


class _Tree:
    def __init__(self, members: Iterable[Member]) -> None:
        self.links: dict[str, str] = {}
        self.dirs: set[str] = set()  # directories the package itself makes
        for member in members:
            key = member.name.casefold()
            if member.kind == "symlink":
                self.links[key] = member.target
            elif member.kind == "dir":
                self.dirs.add(key)
            self.add_parents(key.split("/"))

    def add_parents(self, parts: list[str]) -> None:
        self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))

    def resolve(self, start: list[str], path: str, budget: list[int]) -> list[str]:
        """`path` taken from directory `start` (resolved components), every link in
        the package followed; raises _Refused when it leaves the prefix."""
        here = list(start)
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not here:
                    raise _Refused("leads outside the package")
                if "/".join(here).casefold() not in self.dirs:
                    raise _Refused(f"climbs out of {'/'.join(here)!r}, which the package "
                                   "does not contain")
                here.pop()
                continue
            here.append(part)
            target = self.links.get("/".join(here).casefold())
            if target is not None:
                budget[0] += 1
                if budget[0] > MAX_LINKS:
                    raise _Refused(f"goes through more than {MAX_LINKS} links (a loop?)")
                here = self.resolve(here[:-1], target, budget)
        return here


def escaping_member(members: Iterable[Member]) -> Escape | None:
    """The first member that, installed, is written or points outside the prefix."""
    members = list(members)
    tree = _Tree(members)
    placed: dict[str, list[str]] = {}  # member name -> the directory it is written in
    files: set[str] = set()  # where regular files end up
    for member in members:
        parent, _, base = member.name.rpartition("/")
        try:
            where = tree.resolve([], parent, [0])
        except _Refused as exc:
            return Escape(member.name, f"member is written through a link that {exc}")
        placed[member.name] = where
        tree.add_parents([p.casefold() for p in (*where, base)])
        if member.kind == "file":
            files.add("/".join([*where, base]).casefold())
    for member in members:
        try:
            if member.kind == "symlink":
                tree.resolve(placed[member.name], member.target, [0])
            elif member.kind == "hardlink":
                found = tree.resolve([], member.target, [0])
                if "/".join(found).casefold() not in files:
                    raise _Refused("is a hard link to a file the package does not hold")
        except _Refused as exc:
            what = "symbolic link" if member.kind == "symlink" else "member"
            return Escape(member.name, f"{what} {exc}")
    return None
