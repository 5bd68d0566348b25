"""Errors with messages meant for people: one line each, no secrets."""


class UserError(Exception):
    """A mistake the person running the command can fix; shown as one line."""


class StepFailed(Exception):
    """A step could not complete for this feedstock; the message is the recorded reason."""


class Skip(Exception):
    """A step (or the whole feedstock) is deliberately left alone; the message says why."""
