"""A stand-in Azure DevOps for tests: build definitions with secret variables, variable
groups, revisions and injected faults, every request and answer checked against
Microsoft's description."""

from testing.azure_server.faults import Faults
from testing.azure_server.server import AzureServer, Entry

__all__ = ["AzureServer", "Entry", "Faults"]
