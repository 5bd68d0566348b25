"""Reading a feedstock's own files: `conda-forge.yml`, its recipe, bounded YAML. The
content comes from strangers, so every reader here is strict and bounded."""

from migrator.core.errors import MigratorError


class FeedstockError(MigratorError):
    """A feedstock's files cannot be read or changed safely; the message says which."""

    code = "feedstock"
