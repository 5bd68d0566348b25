"""git's smart HTTP protocol, served by `git http-backend` (a CGI program) from the bare
repositories the model knows."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

GIT_PATH = re.compile(r"^/(?P<org>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
                      r"(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack|HEAD))$")


class CgiAnswer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def match(path: str) -> tuple[str, str, str] | None:
    found = GIT_PATH.match(path)
    if found is None:
        return None
    return found["org"], found["repo"], found["rest"]


def is_push(rest: str, query: str) -> bool:
    return rest == "/git-receive-pack" or "service=git-receive-pack" in query


def run(git_dir: Path, rest: str, *, method: str, query: str, content_type: str | None,
        encoding: str | None, protocol: str | None, body: bytes, user: str) -> CgiAnswer:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(git_dir.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(git_dir.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{git_dir.name}{rest}",
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type or "",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": user,  # http-backend allows pushes from an authenticated user
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
    }
    if encoding:
        env["HTTP_CONTENT_ENCODING"] = encoding
    if protocol:
        env["GIT_PROTOCOL"] = protocol
    proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
    head, _, payload = proc.stdout.partition(b"\r\n\r\n")
    if not _ and b"\n\n" in proc.stdout:
        head, _, payload = proc.stdout.partition(b"\n\n")
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    if proc.returncode != 0 and not proc.stdout:
        return CgiAnswer(500, [("Content-Type", "text/plain")], proc.stderr)
    return CgiAnswer(status, headers, payload)
