"""The error every layer's own errors derive from, and the user's mistakes.

Each package raises its own kind (`ForgeError`, `RegistryError`, `StepFailed`, ...),
all of them `MigratorError`: a one-line message meant for people, never a secret. The
bot's runner records any of them as the reason one feedstock failed; anything else is a
bug and is caught in exactly one place, so one feedstock cannot stop the run.
"""


class MigratorError(Exception):
    """A failure whose message is the reason a person reads (one line, no secrets), and
    a stable `code` that reports group by (each layer's class sets its own default)."""

    code = "error"

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class UserError(MigratorError):
    """A mistake the person running the command can fix; shown as one line, exit 2."""

    code = "usage"
