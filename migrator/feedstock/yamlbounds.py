"""Bounds on a YAML document, checked from libyaml's event stream before anything is built.

A 455-byte document of nested aliases ("billion laughs") loads into a few shared
objects, but anything that walks the result (a comparison, a copy, a JSON dump) meets
every expanded node. So the expanded size is computed from parser events alone: each
anchored node's size is remembered, and an alias adds that size to its parent. The scan
stops at the first bound it crosses, long before the size would matter.
"""

from __future__ import annotations

from typing import NamedTuple

import yaml

from migrator.feedstock import FeedstockError

# libyaml's parser (PyYAML wheels carry it); the pure-Python one if a build lacks it
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Bounds(NamedTuple):
    max_bytes: int = 1 << 20
    max_nodes: int = 100_000  # scalars and collections, with every alias expanded
    max_depth: int = 64


DEFAULT_BOUNDS = Bounds()


class YamlSyntaxError(FeedstockError):
    """libyaml cannot parse the text; the message names the line and column."""


class YamlTooLarge(FeedstockError):
    """The document crosses a size, expansion or nesting bound."""


def check_bounds(text: str, *, what: str, bounds: Bounds = DEFAULT_BOUNDS) -> int:
    """The document's expanded node count; raises YamlTooLarge past `bounds` and
    YamlSyntaxError when the text does not parse."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > bounds.max_bytes:
        raise YamlTooLarge(f"{what} is too large: {size} bytes, the limit is "
                           f"{bounds.max_bytes}")
    scan = _Scan(what, bounds)
    try:
        for event in yaml.parse(text, Loader=SAFE_LOADER):
            scan.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(f"{what} is not valid YAML: {describe(exc)}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"{what} is not valid YAML: {exc}") from None
    return scan.total


class _Scan:
    def __init__(self, what: str, bounds: Bounds) -> None:
        self.what, self.bounds = what, bounds
        self.sizes: dict[str, int] = {}  # anchor -> its node's expanded size
        self.open: list[list[int]] = []  # one [size] per collection being read
        self.anchors: list[str | None] = []  # the anchor of each open collection
        self.total = 0

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(self.open) >= self.bounds.max_depth:
                raise YamlTooLarge(f"{self.what} nests deeper than "
                                   f"{self.bounds.max_depth} levels")
            self.open.append([1])
            self.anchors.append(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size = self.open.pop()[0]
            anchor = self.anchors.pop()
            if anchor is not None:
                self.sizes[anchor] = size
            self._add(size)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                self.sizes[event.anchor] = 1
            self._add(1)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in self.anchors:
                raise YamlTooLarge(f"{self.what} has an alias inside its own anchor "
                                   f"(*{event.anchor}): the data would never end")
            self._add(self.sizes.get(event.anchor, 1))

    def _add(self, size: int) -> None:
        if self.open:
            self.open[-1][0] += size
            current = self.open[-1][0]
        else:
            self.total += size
            current = self.total
        if current > self.bounds.max_nodes:
            raise YamlTooLarge(f"{self.what} expands to more than "
                               f"{self.bounds.max_nodes} YAML nodes (aliases included)")


def describe(exc: yaml.MarkedYAMLError) -> str:
    """`problem (line L, column C)`, the way every YAML error here is worded."""
    problem = exc.problem or exc.context or "parse error"
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
