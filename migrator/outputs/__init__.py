"""The validation service: checks uploads on the staging channel and copies them to
production, keeps the outputs registry, and publishes repodata for the local channels.

Entry points: `service.Service` (the Python API), `cli.main` (`migrator outputs ...`),
`webapp.create_app` (the Flask app), `register.register_outputs` (for provisioning) and
`demo.play_ci` (one feedstock's CI played against a local forge).
"""
