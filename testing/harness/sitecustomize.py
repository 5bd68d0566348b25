"""Loaded by test subprocesses (via PYTHONPATH); production never loads this.

- `MIGRATOR_TEST_TOKEN_LOG=FILE`: every token the process creates is appended to FILE,
  which the tests keep outside every folder they scan, so the leak scan knows them.
- `MIGRATOR_KILL_AT="<point>:<n>"`: the process SIGKILLs itself the n-th time it reaches
  the named failpoint (`migrator.core.failpoints`), the moment a real crash would be worst.
  A point is named without its `@branch` / `@provider` part, so `write-secret:2` is the
  second provider's write; a batched step's `<key>.staged` point keeps its suffix.
"""

from __future__ import annotations

import os
import signal
import threading

_log = os.environ.get("MIGRATOR_TEST_TOKEN_LOG")
if _log:
    from migrator.core.secret import Secret

    _original = Secret.new_token.__func__  # type: ignore[attr-defined]
    _log_path: str = _log

    def _recording(cls: type[Secret]) -> Secret:
        secret = _original(cls)
        with open(_log_path, "a") as handle:
            handle.write(secret.reveal() + "\n")
        return secret

    Secret.new_token = classmethod(_recording)  # type: ignore[assignment]

_kill_at = os.environ.get("MIGRATOR_KILL_AT", "")
if _kill_at:
    from migrator.core import failpoints

    _name, _, _nth = _kill_at.partition(":")
    _counts: dict[str, int] = {}
    _lock = threading.Lock()

    def _kill_hook(point: str) -> None:
        base, at, rest = point.partition("@")
        if at and rest.endswith(".staged"):  # "register-hash@azure.staged"
            base += ".staged"
        if base != _name:
            return
        with _lock:
            _counts[_name] = _counts.get(_name, 0) + 1
            if _counts[_name] >= int(_nth or 1):
                os.kill(os.getpid(), signal.SIGKILL)

    failpoints.attach(_kill_hook)
