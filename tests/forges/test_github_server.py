"""The stand-in GitHub holds clients to GitHub's description: a request or an answer
outside it is recorded (and fails the test that made it, through the fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testing.github_server import GithubServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GithubServer]:
    started = GithubServer().start()
    started.model.add_repo("a-feedstock", tmp_path)
    yield started
    started.stop()


def test_requests_outside_the_description_are_refused_and_recorded(
    server: GithubServer,
) -> None:
    auth = {"Authorization": f"token {server.admin_token}"}
    base = f"{server.api_url}/repos/conda-forge/a-feedstock"
    missing_key = requests.put(f"{base}/actions/secrets/X", json={"encrypted_value": "QUJD"},
                               headers=auth, timeout=10)
    unknown = requests.get(f"{base}/branches", headers=auth, timeout=10)
    bad_query = requests.get(f"{server.api_url}/orgs/conda-forge/repos?per_page=many",
                             headers=auth, timeout=10)
    assert [r.status_code for r in (missing_key, unknown, bad_query)] == [400, 400, 400]
    found = "\n".join(server.checker.violations)
    assert "PUT /repos/conda-forge/a-feedstock/actions/secrets/X" in found
    assert "key_id" in found and "PathNotFound" in found and "per_page" in found


def test_answers_outside_the_description_are_recorded(server: GithubServer) -> None:
    auth = {"Authorization": f"token {server.admin_token}"}
    url = f"{server.api_url}/repos/conda-forge/a-feedstock/actions/secrets/public-key"
    assert requests.get(url, headers=auth, timeout=10).status_code == 200
    assert not server.checker.violations and server.checker.checked["responses"] == 1
    server.model.repos["a-feedstock"].key["key_id"] = 5  # type: ignore[assignment]
    requests.get(url, headers=auth, timeout=10)
    assert len(server.checker.violations) == 1
    assert "200 to GET /repos/conda-forge/a-feedstock/actions/secrets/public-key" in \
        server.checker.violations[0]


def test_unauthenticated_requests_are_refused(server: GithubServer) -> None:
    url = f"{server.api_url}/orgs/conda-forge/repos"
    assert requests.get(url, timeout=10).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "token nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
    git = requests.get(f"{server.url}/conda-forge/a-feedstock.git/info/refs",
                       params={"service": "git-upload-pack"}, timeout=10)
    assert git.status_code == 401 and "Basic" in git.headers["WWW-Authenticate"]
    assert not server.checker.violations
