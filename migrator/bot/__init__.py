"""The provisioning bot: its commands, the runner, the migrations and their steps, and
the resumable state. It uses forges, registries, feedstock and rerender; it never
imports the service.
"""
