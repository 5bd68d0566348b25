"""What the GitHub forge takes from the environment: credentials and pacing.

Credentials never come from the command line, where every user of the machine can read
them in the process list.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth

from migrator.core.connect import connect_timeout
from migrator.core.errors import UserError
from migrator.forges.pacing import GITHUB_CEILINGS, Ceiling, Pacer


def auth_from_env(environ: Mapping[str, str]) -> Auth.Auth:
    """A token (GITHUB_TOKEN), or a GitHub App installation (GITHUB_APP_ID,
    GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID) whose hour-long tokens PyGithub
    renews before they expire."""
    app_id = environ.get("GITHUB_APP_ID")
    if app_id:
        key = environ.get("GITHUB_APP_PRIVATE_KEY", "").replace("\\n", "\n").strip()
        installation = environ.get("GITHUB_APP_INSTALLATION_ID", "")
        if not key or not installation.isdigit():
            raise UserError("GITHUB_APP_ID needs GITHUB_APP_PRIVATE_KEY (PEM text) and a "
                            "numeric GITHUB_APP_INSTALLATION_ID in the environment")
        check_app_key(key)
        return Auth.AppAuth(app_id, key).get_installation_auth(int(installation))
    token = environ.get("GITHUB_TOKEN")
    if token:
        return Auth.Token(token)
    raise UserError("the GitHub forge needs GITHUB_TOKEN, or GITHUB_APP_ID with "
                    "GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID, in the environment")


def check_app_key(key: str) -> None:
    """The App's key must be an RSA private key in PEM: GitHub signs App tokens with RS256.
    Checked before the first request, so a wrong key is one line, not a traceback from
    deep inside the first API call; the message never quotes the key."""
    try:
        loaded = load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: it is encrypted
        loaded = None
    if not isinstance(loaded, RSAPrivateKey):
        raise UserError("GITHUB_APP_PRIVATE_KEY is not an unencrypted RSA private key in "
                        "PEM form (the .pem file GitHub gives for the App)")


def connect_timeout_from_env(env: Mapping[str, str]) -> float:
    """MIGRATOR_CONNECT_TIMEOUT: seconds to keep trying a server that cannot be reached."""
    return connect_timeout(env)


def pacer_from_env(env: Mapping[str, str]) -> Pacer:
    """MIGRATOR_GITHUB_CEILINGS ("80/60,500/3600": writes per seconds) and
    MIGRATOR_GITHUB_MAX_WAIT (seconds) change the write queue; GitHub's own otherwise."""
    ceilings: tuple[Ceiling, ...] = GITHUB_CEILINGS
    text = env.get("MIGRATOR_GITHUB_CEILINGS", "")
    try:
        if text:
            ceilings = tuple(Ceiling(int(n), float(s)) for n, s in
                             (part.split("/") for part in text.split(",")))
        max_wait = float(env.get("MIGRATOR_GITHUB_MAX_WAIT", "600"))
        if not ceilings or any(c.limit <= 0 or c.seconds <= 0 for c in ceilings):
            raise ValueError("ceilings must be positive")
    except ValueError:
        raise UserError("MIGRATOR_GITHUB_CEILINGS is a list like 80/60,500/3600 and "
                        "MIGRATOR_GITHUB_MAX_WAIT a number of seconds") from None
    return Pacer(ceilings=ceilings, max_wait=max_wait)
