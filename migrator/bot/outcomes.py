"""How a step ends when it does not simply succeed."""

from migrator.core.errors import MigratorError


class StepFailed(MigratorError):
    """A step could not complete for this feedstock; the message is the recorded reason."""

    code = "step"


class Skip(Exception):
    """A step (or the whole feedstock) is deliberately left alone; the message says why.
    Raised before the step has any effect (the skip is saved with the next write)."""
