"""The validation and copy service: accepts CI's copy request, checks the feedstock
token and each output on staging, and copies staging -> quarantine -> production.

Entry points: `core.Service` (the Python API), `commands` (`migrator outputs ...`),
`webapp.create_app` (the HTTP app) and `server` (serving it). It uses registries,
channels and forges; it never imports the bot.
"""
