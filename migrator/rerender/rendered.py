"""What a renderer reports about the rerender it made."""

from collections.abc import Mapping
from typing import NamedTuple


class Rendered(NamedTuple):
    tool: str  # what rendered, in words: "the validation patch", "conda-smithy 3.52.1"
    full: bool  # a full rerender: the guard bounds its size instead of its lines
    changed: Mapping[str, bytes | None] = {}  # path -> new bytes, None where deleted
