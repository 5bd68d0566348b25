"""The stand-in Azure DevOps holds clients to Microsoft's description and behaves like the
service where the store depends on it: hidden secret values, revisions, wrapped
collections, limit answers and dropped connections."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from testing.azure_server import AzureServer, Faults
from testing.azure_server.model import Variable

Q = {"api-version": "7.1"}


@pytest.fixture
def server() -> Iterator[AzureServer]:
    started = AzureServer(faults=Faults(wait=1)).start()
    started.model.add_group("anaconda-org", {"STAGING_BINSTAR_TOKEN": Variable("st", True)})
    started.model.add_definition("numpy-feedstock", groups=("anaconda-org",), variables={
        "PLAIN": Variable("shown"), "HIDDEN": Variable("kept-secret", is_secret=True)})
    yield started
    started.stop()


def auth(server: AzureServer, user: str = "") -> dict[str, str]:
    basic = base64.b64encode(f"{user}:{server.pat}".encode()).decode()
    return {"Authorization": f"Basic {basic}"}


def url(server: AzureServer, rest: str) -> str:
    return f"{server.url}/conda-forge/feedstock-builds/_apis/{rest}"


def get(server: AzureServer, rest: str, **params: str) -> requests.Response:
    return requests.get(url(server, rest), params={**Q, **params}, headers=auth(server),
                        timeout=10)


def put(server: AzureServer, rest: str, body: Any) -> requests.Response:
    return requests.put(url(server, rest), params=Q, json=body, headers=auth(server),
                        timeout=10)


def numpy_id(server: AzureServer) -> int:
    return server.model.definition_named("numpy-feedstock").id


def test_reads_hide_secret_values_and_wrap_collections(server: AzureServer) -> None:
    listed = get(server, "build/definitions", name="NUMPY-*").json()
    assert listed["count"] == 1 and listed["value"][0]["name"] == "numpy-feedstock"
    assert get(server, "build/definitions", name="scipy-feedstock").json() == \
        {"count": 0, "value": []}
    found = get(server, f"build/definitions/{numpy_id(server)}").json()
    assert found["variables"] == {
        "PLAIN": {"value": "shown", "isSecret": False, "allowOverride": False},
        "HIDDEN": {"value": None, "isSecret": True, "allowOverride": False}}
    assert found["variableGroups"][0]["variables"]["STAGING_BINSTAR_TOKEN"]["value"] is None
    groups = get(server, "distributedtask/variablegroups", groupName="anaconda-org").json()
    assert groups["count"] == 1 and groups["value"][0]["variables"] == {
        "STAGING_BINSTAR_TOKEN": {"value": None, "isSecret": True}}
    assert server.secret_value("numpy-feedstock", "HIDDEN") == "kept-secret"
    assert not server.checker.violations and server.checker.checked == \
        {"requests": 4, "responses": 4}


def test_a_definition_put_back_as_read_keeps_its_secrets_and_makes_a_revision(
    server: AzureServer,
) -> None:
    found = get(server, f"build/definitions/{numpy_id(server)}").json()
    found["variables"]["NEW"] = {"value": "v2", "isSecret": True}
    found["comment"] = "mine"
    answer = put(server, f"build/definitions/{numpy_id(server)}", found)
    assert answer.status_code == 200 and answer.json()["revision"] == found["revision"] + 1
    assert answer.json()["variables"]["NEW"]["value"] is None
    assert server.ci_secrets("numpy-feedstock") == {
        "PLAIN": "shown", "HIDDEN": "kept-secret", "NEW": "v2", "STAGING_BINSTAR_TOKEN": "st"}
    revisions = get(server, f"build/definitions/{numpy_id(server)}/revisions").json()
    assert [(r["revision"], r["comment"], r["changeType"]) for r in revisions["value"]] == [
        (1, "created by conda-smithy", "add"), (2, "mine", "update")]
    assert revisions["value"][1]["changedDate"] == answer.json()["createdDate"]
    assert answer.json()["createdDate"].endswith("Z") and \
        len(answer.json()["createdDate"].split(".")[1]) == 8  # seven digits and Z
    assert not server.checker.violations


def test_a_put_with_another_revision_is_refused(server: AzureServer) -> None:
    found = get(server, f"build/definitions/{numpy_id(server)}").json()
    stale = dict(found, revision=found["revision"] - 1)
    ahead = dict(found, revision=found["revision"] + 1)
    assert put(server, f"build/definitions/{numpy_id(server)}", stale).status_code == 409
    assert put(server, f"build/definitions/{numpy_id(server)}", ahead).status_code == 404
    other = dict(found, id=found["id"] + 100)
    refused = put(server, f"build/definitions/{numpy_id(server)}", other)
    assert refused.status_code == 400 and refused.json()["typeKey"] == \
        "RouteIdConflictException"
    assert server.model.definition_named("numpy-feedstock").revision == 1
    assert not server.checker.violations and server.exempt["409 error answer"] == 1


def test_requests_outside_the_description_are_refused_and_recorded(
    server: AzureServer,
) -> None:
    no_version = requests.get(url(server, "build/definitions"), headers=auth(server),
                              timeout=10)
    bad_body = put(server, f"build/definitions/{numpy_id(server)}", {"revision": "two"})
    unknown = get(server, "build/folders")
    assert [r.status_code for r in (no_version, bad_body, unknown)] == [400, 400, 400]
    found = "\n".join(server.checker.violations)
    assert "api-version" in found and "'two' is not of type 'integer'" in found
    assert "build/folders" in found
    assert server.model.definition_named("numpy-feedstock").revision == 1


def test_answers_outside_the_description_are_recorded(server: AzureServer) -> None:
    number = numpy_id(server)
    server.model.definitions[number].name = 5  # type: ignore[assignment]
    get(server, f"build/definitions/{number}")
    assert len(server.checker.violations) == 1
    assert f"200 to GET /conda-forge/feedstock-builds/_apis/build/definitions/{number}" \
        in server.checker.violations[0]


def test_credentials_are_a_personal_access_token_in_basic(server: AzureServer) -> None:
    assert requests.get(url(server, "build/definitions"), params=Q, timeout=10) \
        .status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b":nope").decode()}
    assert requests.get(url(server, "build/definitions"), params=Q, headers=wrong,
                        timeout=10).status_code == 401
    named = requests.get(url(server, "build/definitions"), params=Q,
                         headers=auth(server, "someone"), timeout=10)
    assert named.status_code == 200  # the description: any user name will do
    assert [e.user for e in server.entries()] == [None, "", "someone"]
    assert all("Authorization" not in dict(e.headers) for e in server.entries())
    assert server.exempt["401 unauthenticated"] == 2 and not server.checker.violations


def test_limit_answers_carry_azure_devops_headers(server: AzureServer) -> None:
    server.faults.plan("429", "delay")
    blocked = get(server, "build/definitions")
    assert blocked.status_code == 429 and blocked.json()["message"].startswith("TF400733")
    assert blocked.headers["Retry-After"] == "1"
    assert blocked.headers["X-RateLimit-Resource"] == "Core"
    assert int(blocked.headers["X-RateLimit-Reset"]) >= int(time.time())
    delayed = get(server, "build/definitions")
    assert delayed.status_code == 200 and delayed.json()["count"] == 1
    assert delayed.headers["X-RateLimit-Delay"] == "0.500"
    assert delayed.headers["Retry-After"] == "1"
    assert [e.fault for e in server.entries()] == ["429", "delay"]
    assert not server.checker.violations


def test_dropped_connections_before_and_after_the_request_takes_effect(
    server: AzureServer,
) -> None:
    found = get(server, f"build/definitions/{numpy_id(server)}").json()
    server.faults.plan("drop", "drop-after", method="PUT")
    server.faults.plan("5xx", method="GET")
    with pytest.raises(requests.ConnectionError):
        put(server, f"build/definitions/{numpy_id(server)}", found)
    assert server.model.definition_named("numpy-feedstock").revision == 1
    with pytest.raises(requests.ConnectionError):
        put(server, f"build/definitions/{numpy_id(server)}", found)
    assert server.model.definition_named("numpy-feedstock").revision == 2
    assert get(server, "build/definitions").status_code == 503
    assert [(e.method, e.status, e.fault) for e in server.entries()[1:]] == [
        ("PUT", 0, "drop"), ("PUT", 0, "drop-after"), ("GET", 503, "5xx")]


def test_fault_rates_are_seeded() -> None:
    def draws() -> list[str | None]:
        faults = Faults({"5xx": 0.3, "429": 0.2}, seed=3)
        return [faults.draw("GET") for _ in range(40)]

    first = draws()
    assert first == draws() and {"5xx", "429", None} == set(first)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        Faults({"teapot": 1.0})
