"""The error every layer's own errors derive from, and the user's mistakes.

Each package raises its own kind (`ForgeError`, `RegistryError`, `StepFailed`, ...),
all of them `MigratorError`: a one-line message meant for people, never a secret. The
bot's runner records any of them as the reason one feedstock failed; anything else is a
bug and is caught in exactly one place, so one feedstock cannot stop the run.
"""


class MigratorError(Exception):
    """A failure whose message is the reason a person reads (one line, no secrets)."""


class UserError(MigratorError):
    """A mistake the person running the command can fix; shown as one line, exit 2."""
