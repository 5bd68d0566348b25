"""The jinja2 environment for templates/ci, with failures reported per template."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from migrator.core.templating import TEMPLATES, make_environment
from migrator.rerender.refused import RenderError

TEMPLATE_DIR = TEMPLATES / "ci"


_SHELL_SAFE = re.compile(r"^[A-Za-z0-9_.,:/=+@%-]+$")


def shell_word(word: str) -> str:
    """`word` as one shell (or cmd) argument: quoted when it has special characters."""
    return word if _SHELL_SAFE.match(word) else '"' + word.replace('"', '\\"') + '"'


def github_expression(expression: str) -> str:
    """`${{ expression }}`: GitHub's syntax collides with jinja's, so templates call this."""
    return "${{ " + expression + " }}"


@functools.lru_cache(maxsize=8)
def environment(template_dir: Path) -> jinja2.Environment:
    env = make_environment(template_dir)
    env.globals["gh"] = github_expression
    env.filters["shell_word"] = shell_word
    return env


def render_template(name: str, context: Mapping[str, Any], *, template_dir: Path) -> str:
    try:
        return environment(template_dir).get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(
            f"template {name} failed: {exc.name} not found in {template_dir}"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.name or name
        raise RenderError(f"template {where} failed: line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name} failed: {exc.message or exc}") from None
