"""A stand-in GitHub for tests: REST checked against GitHub's OpenAPI description, git
over smart HTTP, real sealed-box secrets, limits and injected faults."""

from testing.github_server.limits import Faults
from testing.github_server.server import Entry, GithubServer

__all__ = ["Entry", "Faults", "GithubServer"]
