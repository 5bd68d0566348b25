"""A stand-in anaconda.org for tests: the API anaconda-client calls, conda channel paths
with per-label repodata, storage uploads, per-owner tokens and injected faults."""

from testing.anaconda_server.faults import Faults
from testing.anaconda_server.server import AnacondaServer, Entry

__all__ = ["AnacondaServer", "Entry", "Faults"]
