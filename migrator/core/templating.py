"""The jinja2 environment for everything under `templates/`."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import jinja2

from migrator.core.errors import UserError


def _templates() -> Path:
    # a checkout (or editable install) keeps them beside the package; a regular install
    # puts them under <prefix>/share/migrator (pyproject's data-files)
    beside = Path(__file__).resolve().parents[2] / "templates"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "migrator" / "templates"


TEMPLATES = _templates()


@functools.cache
def environment() -> jinja2.Environment:
    return make_environment(TEMPLATES)


def make_environment(folder: Path) -> jinja2.Environment:
    """Templates render text files exactly: kept final newlines, no HTML escaping, and
    an undefined name is an error rather than an empty string."""
    if not folder.is_dir():
        raise UserError(f"templates folder missing at {folder}; reinstall migrator")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
