"""The one error a renderer raises when it will not rerender a feedstock."""

from migrator.core.errors import MigratorError


class RenderError(MigratorError):
    """The CI files cannot be rerendered for this feedstock; the message says why."""

    code = "render"
