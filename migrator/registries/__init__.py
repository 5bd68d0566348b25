"""The two registries bot and service share, each a git repository of the organisation:
`feedstock-tokens` (salted hashes of feedstock tokens) and `feedstock-outputs` (which
feedstock may publish which package name). Read, write, and replay on a lost race."""

from migrator.core.errors import MigratorError


class RegistryError(MigratorError):
    """A registry file is unreadable or a registry write could not be made."""

    code = "registry"
