"""Conda channels: the `Channel` protocol (`base`), package file names and inspection,
and the local directory channel with its repodata. Staging, quarantine and production
are each one channel."""
