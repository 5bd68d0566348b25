"""Loaded by test subprocesses (via PYTHONPATH) to tell the leak scan which tokens exist.

When MIGRATOR_TEST_TOKEN_LOG is set, every token the process creates is appended to that
file, which the tests keep outside every folder they scan. Production never loads this.
"""

import os

_log = os.environ.get("MIGRATOR_TEST_TOKEN_LOG")
if _log:
    from migrator.tokens.secret import Secret

    _original = Secret.new_token.__func__  # type: ignore[attr-defined]

    def _recording(cls):  # type: ignore[no-untyped-def]
        secret = _original(cls)
        with open(_log, "a") as handle:
            handle.write(secret.reveal() + "\n")
        return secret

    Secret.new_token = classmethod(_recording)  # type: ignore[method-assign]
