"""Credentials for git over HTTPS, handed to one git command through its environment.

The token travels as an `Authorization` header configured by GIT_CONFIG_COUNT/KEY/VALUE:
never in a remote URL (git would write it into .git/config and print it in errors), never
in a config file, never in a process argument (visible to every user in `ps`). The header
is scoped to the forge's git URL so a redirect elsewhere does not carry it.
"""

from __future__ import annotations

import base64
import re

TRANSIENT = re.compile(
    r"returned error: 5\d\d|RPC failed|Empty reply from server|Connection reset|"
    r"unexpected disconnect|early EOF|remote end hung up|Recv failure|"
    r"Failed to connect|Could not resolve host|transfer closed|HTTP/2 stream",
    re.IGNORECASE,
)
# curl's words for a connection that was never made (refused, no route, no name, no answer)
NEVER_CONNECTED = re.compile(
    r"Failed to connect|Could not resolve host|Connection timed out|Connection refused|"
    r"No route to host|Network is unreachable",
    re.IGNORECASE,
)


def auth_env(git_url: str, token: str) -> dict[str, str]:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{git_url.rstrip('/')}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def repo_url(git_url: str, org: str, repo: str) -> str:
    return f"{git_url.rstrip('/')}/{org}/{repo}.git"


def is_transient(stderr: str) -> bool:
    """A failure worth trying again: the server or the network, not the request."""
    return bool(TRANSIENT.search(stderr))


def never_connected(stderr: str) -> bool:
    """git could not open a connection to the server at all."""
    return bool(NEVER_CONNECTED.search(stderr))
