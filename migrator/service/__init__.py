"""The validation service: checks uploads on the staging channel and copies them to
production, keeps the outputs registry, and publishes repodata for the local channels.

Entry points: `core.Service` (the Python API), `commands` (`migrator outputs ...`),
`webapp.create_app` (the Flask app) and `server.start_server` (that app on waitress, on a
thread). The rules follow conda-forge's own service: `auth` (tokens), `request` (the
copy request), `pipeline` (staging -> quarantine -> production) and
`migrator.registries.outputs_registry` (who may publish a name).
"""
