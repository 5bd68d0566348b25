"""Load YAML input files, turning every parse problem into a one-line StepFailed."""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from migrator.errors import StepFailed

_DUPLICATE = re.compile(r'found duplicate key "([^"]*)"')


def load_yaml(text: str, *, what: str) -> Any:
    """Plain Python data (dicts, lists, scalars) from `text`; `what` names the file."""
    yaml = YAML(typ="safe", pure=True)
    try:
        return yaml.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        raise StepFailed(f"{what} is not valid YAML: {_describe(exc)}") from None
    except (YAMLError, ValueError, TypeError) as exc:
        raise StepFailed(f"{what} is not valid YAML: {exc}") from None


def _describe(exc: MarkedYAMLError) -> str:
    problem = exc.problem or exc.context or "parse error"
    duplicate = _DUPLICATE.match(problem)
    if duplicate:
        problem = f"duplicate key {duplicate.group(1)!r}"
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
