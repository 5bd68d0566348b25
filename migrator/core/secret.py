"""A plain token that cannot be printed, logged or serialised by accident."""

from __future__ import annotations

import secrets


class Secret:
    """Holds a secret string in memory only.

    `repr`, `str` and `format` are masked; json refuses it (it is not a str); pickling
    is refused. The value is reachable only through `reveal()`, so every use is greppable.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret needs a non-empty string")
        self._value = value

    @classmethod
    def new_token(cls) -> Secret:
        return cls(secrets.token_hex(32))

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")

    def __eq__(self, other: object) -> bool:
        import hmac

        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))
