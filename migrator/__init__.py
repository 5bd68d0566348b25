"""Admin bot that provisions conda-forge feedstocks for output validation."""

__version__ = "0.1.0"
