"""Serving like production software, over real HTTP to a waitress server on a thread:
terminal 400s for bodies the service cannot use, nothing on disk and bounded scrypt work
for unauthenticated requests, deadlines for slow and idle clients, one-line refusals of
bad command-line values."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from migrator.core.secret import Secret
from migrator.service import auth
from migrator.service.server import RunningServer, start_server
from migrator.service.wsgi import Limits
from testing.outputs_support import body, stage, tree_digest
from testing.service_support import LightEnv, add_token, light_env, set_outputs

LIMITS = Limits(threads=4, idle_timeout=1.0, header_timeout=1.0, body_timeout=1.0)


class Served:
    def __init__(self, env: LightEnv, server: RunningServer, token: Secret) -> None:
        self.env, self.server, self.token = env, server, token

    def post(self, path: str, data: bytes | Any, token: str | None = None,
             ) -> tuple[int, dict[str, Any]]:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        req = urllib.request.Request(f"{self.server.url}{path}", data=raw, method="POST",
                                     headers={"Content-Type": "application/json"})
        if token is not None:
            req.add_header("FEEDSTOCK_TOKEN", token)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = light_env(tmp_path_factory.mktemp("served"), scrypt_workers=2)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {"gadget": ["gadget"]})
    with start_server(env.service, limits=LIMITS) as server:
        yield Served(env, server, token)


GOOD = body("gadget", {"noarch/gadget-1-0.conda": "1" * 64}, git_sha=None)
BAD_BODIES: dict[str, bytes | dict[str, Any]] = {
    "not JSON": b"{'feedstock': 'gadget-feedstock'",
    "100,000 nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "20 nested objects": b'{"a":' * 20 + b"1" + b"}" * 20,
    "UTF-16": json.dumps(GOOD).encode("utf-16"),
    "Latin-1": json.dumps(GOOD, ensure_ascii=False).replace("gadget-1", "gadg\xe9t-1")
                   .encode("latin-1"),
    "a 250-character file name": {**GOOD, "outputs": {
        f"noarch/{'g' * 236}-1-0.conda": "1" * 64}},
    "no channel": {k: v for k, v in GOOD.items() if k != "channel"},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
@pytest.mark.parametrize("path", ["/feedstock-outputs/copy", "/feedstock-outputs/jobs"])
def test_bodies_the_service_cannot_use_are_a_terminal_400(served: Served, case: str,
                                                          path: str) -> None:
    status, report = served.post(path, BAD_BODIES[case], served.token.reveal())
    assert status == 400, report
    assert report["error"]["result"] == "bad_request"
    assert report["error"]["terminal"] and not report["error"]["retryable"]
    assert served.env.service.journal.active_ids() == []


def test_a_body_over_the_limit_is_refused_unread(served: Served) -> None:
    req = urllib.request.Request(f"{served.server.url}/feedstock-outputs/copy",
                                 data=b" " * 300_000, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    assert refused.value.code == 413  # waitress answers before the body is buffered


def test_the_token_header_ci_sends_is_read(served: Served, tmp_path: Path) -> None:
    dist, sha = stage(served.env.service, tmp_path, name="gadget", version="3")
    status, report = served.post("/feedstock-outputs/copy",
                                 body("gadget", {dist.key: sha}, git_sha=None),
                                 served.token.reveal())
    assert (status, report["results"][dist.key]["result"]) == (200, "copied")


def test_legacy_and_health_endpoints_over_http(served: Served) -> None:
    assert served.post("/feedstock-outputs/validate", {"x": 1}) == (200, {"deprecated": True})
    with urllib.request.urlopen(f"{served.server.url}/alive", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "operational"}


def test_unauthenticated_requests_write_nothing(served: Served) -> None:
    state = served.env.state
    before = tree_digest(state)
    requests = [(path, body(feedstock, {f"noarch/{feedstock}-1-0.conda": "5" * 64},
                            git_sha=None), token)
                for path in ("/feedstock-outputs/copy", "/feedstock-outputs/jobs")
                for feedstock in ("gadget", "nobody-has-this")
                for token in (Secret.new_token().reveal(), None)]
    for path, payload, token in requests:
        status, report = served.post(path, payload, token)
        assert (status, report["error"]["result"]) == (403, "auth_failed")
    assert tree_digest(state) == before
    # one that asks for a comment leaves the comment's marker, once, and nothing else
    files = set(state.rglob("*"))
    payload = body("gadget", {"noarch/gadget-1-0.conda": "5" * 64}, git_sha="d" * 40)
    for _ in range(3):
        served.post("/feedstock-outputs/copy", payload, Secret.new_token().reveal())
    assert len(served.env.comments("gadget")) == 1
    new = [p.relative_to(state) for p in set(state.rglob("*")) - files if p.is_file()]
    assert len(new) == 1 and new[0].parts[0] == "notices"


def test_scrypt_work_is_bounded_and_the_same_with_or_without_entries(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    real, lock = auth.matches, threading.Lock()
    seen = {"running": 0, "peak": 0, "calls": 0}

    def counted(token: Secret, entry: Any) -> bool:  # the real scrypt, counted
        with lock:
            seen["running"] += 1
            seen["calls"] += 1
            seen["peak"] = max(seen["peak"], seen["running"])
        try:
            return real(token, entry)
        finally:
            with lock:
                seen["running"] -= 1

    def send(feedstock: str) -> None:
        payload = body(feedstock, {f"noarch/{feedstock}-1-0.conda": "6" * 64}, git_sha=None)
        status, _ = served.post("/feedstock-outputs/copy", payload, Secret.new_token().reveal())
        assert status == 403

    monkeypatch.setattr(auth, "matches", counted)
    calls = {}
    for feedstock in ("gadget", "nobody-has-this"):  # one registry entry, and none
        seen["calls"] = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send, [feedstock] * 8))
        calls[feedstock] = seen["calls"]
    assert calls == {"gadget": 8 * auth.PADDED_CHECKS, "nobody-has-this": 8 * auth.PADDED_CHECKS}
    assert 1 <= seen["peak"] <= 2  # the service's scrypt_workers, with 4 request threads


def _closed_after(server: RunningServer, send: list[bytes], gap: float) -> float:
    """Seconds until the server closes a connection that sends `send`, `gap` apart (a
    reset counts as closed: the server may close with our bytes unread)."""
    host, port = server.server.effective_host, server.server.effective_port
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.settimeout(gap)
        for chunk in [*send, *([b""] * 100)]:
            try:
                if chunk:
                    conn.sendall(chunk)
                if conn.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    return time.monotonic() - started


def test_idle_and_slow_clients_are_closed_by_their_deadlines(served: Served) -> None:
    header = b"POST /feedstock-outputs/copy HTTP/1.1\r\nHost: x\r\nX-Slow: "
    headers_done = (b"POST /feedstock-outputs/copy HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 500\r\n\r\n")
    cases = {
        "idle": ([], 0.1),
        "a header sent one byte at a time": ([header] + [b"a"] * 60, 0.1),
        "a body sent one byte at a time": ([headers_done] + [b"{"] * 60, 0.1),
    }
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        waited = dict(zip(cases, pool.map(lambda c: _closed_after(served.server, *c),
                                          cases.values()), strict=True))
    for case, seconds in waited.items():
        # each deadline is 1 s, checked every 0.1 s; the trickles would take 6 s
        assert 0.9 <= seconds <= 2.5, (case, seconds)


def test_bad_command_line_values_are_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from migrator import cli  # the whole command line, as a user runs it

    env = light_env(tmp_path)
    forge = ["--forge", str(env.forge.root)]
    for argv in (["serve", "--port", "70000"], ["serve", "--port", "0"],
                 ["serve", "--port", "http"], ["serve", "--idle-timeout", "0"],
                 ["serve", "--threads", "-1"], ["reindex", "--channel", "nowhere"]):
        assert cli.main(["outputs", *argv, *forge]) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert argv[-1] in err and "Traceback" not in err
