"""Feedstock tokens: creation, hashing, the registry and its admin commands."""
