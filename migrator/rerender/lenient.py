"""A sandboxed jinja2 environment that renders recipes without conda-build.

Recipes call conda-build's and rattler-build's helpers (`compiler()`, `pin_subpackage()`,
`environ[...]`, custom filters). Here every such name is an empty value that can be
called, indexed, compared and combined, so the plain parts of a recipe (its names)
render while the rest quietly becomes empty. The sandbox keeps a recipe's jinja from
reaching Python internals.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment


def _same(self: Any, *args: Any, **kwargs: Any) -> Any:
    return self


def _false(self: Any, *args: Any, **kwargs: Any) -> Any:
    return False


class Lenient(jinja2.ChainableUndefined):
    """Stands for anything conda-build would provide."""

    __call__ = __pos__ = __neg__ = _same
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same
    __lt__ = __le__ = __gt__ = __ge__ = _false


class _AnyFilter(dict[str, Any]):
    """The known filters; any other name is accepted and yields an empty value."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key, _unknown_filter)


def _unknown_filter(*args: Any, **kwargs: Any) -> Any:
    return Lenient()


def _split(value: Any, sep: str | None = None) -> list[str]:
    return str(value).split(sep)


def lenient_environment(**options: Any) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=Lenient, autoescape=False, **options)
    env.filters = _AnyFilter(env.filters)
    env.filters["split"] = _split
    env.globals.update(environ={}, os=SimpleNamespace(environ={}, sep="/", pathsep=":"))
    return env
