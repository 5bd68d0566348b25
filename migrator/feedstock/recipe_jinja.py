"""The jinja2 sandbox a recipe's names are rendered in, without conda-build.

Every name a recipe does not define (conda-build's `compiler()`, `environ`, a variant
key) is an Unknown: it renders as `«name»` and absorbs calls, maths and filters, so the
caller can tell what it could not know and expand it from the variant files. The
sandbox keeps a recipe's jinja away from Python internals; time and memory are bounded
by the process it runs in (sandbox.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment


class Unknown(jinja2.ChainableUndefined):
    """A name the recipe does not define: renders as «name», absorbs calls and maths."""

    def __str__(self) -> str:
        return f"«{self._undefined_name or '?'}»"


def _same(self: Unknown, *args: Any, **kwargs: Any) -> Unknown:
    return self


def _never(self: Unknown, other: Any) -> bool:
    return False


for _op in ("__call__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
            "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
            "__rmod__", "__pos__", "__neg__"):
    setattr(Unknown, _op, _same)
for _op in ("__lt__", "__le__", "__gt__", "__ge__"):
    setattr(Unknown, _op, _never)


class _Filters(dict[str, Any]):
    """Known filters as given; conda-build's and rattler-build's own yield an unknown."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, self[key])

    def __missing__(self, key: str) -> Any:
        return lambda *args, **kwargs: Unknown(name=key)


def environment(**options: Any) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=Unknown, autoescape=False, **options)
    filters = _Filters(env.filters)
    filters["split"] = lambda value, sep=None: str(value).split(sep)
    env.filters = filters
    # conda-build reads the build environment; here it is empty, so defaults apply
    env.globals.update(environ={}, os=SimpleNamespace(environ={}, sep="/", pathsep=":"))
    return env


V0 = environment()
V1 = environment(variable_start_string="${{", variable_end_string="}}")
