"""The Azure Pipelines store against the stand-in Azure DevOps: what it writes, what it
leaves alone, how it survives faults and limits, what it costs, and where secrets go."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import time

import pytest

from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges import RepoInfo
from migrator.forges.azure import WRITE_COMMENT, AzurePipelines
from migrator.forges.azure_http import AzureHttpError, parse_time
from migrator.forges.ci_secrets import CISecretStore, StoreError
from migrator.forges.pacing import Ceiling
from testing.azure_server import AzureServer, Faults
from testing.azure_server.fixtures import (  # noqa: F401
    STAGING_VALUE,
    MakeAzure,
    fast_azure_pacer,
    make_azure_server,
    store_for,
)
from testing.azure_server.model import Variable

TOKEN = "FEEDSTOCK_TOKEN"


def repo(name: str = "numpy-feedstock") -> RepoInfo:
    return RepoInfo(1, name, "main", False)


def puts(server: AzureServer) -> list[float]:
    return [e.at for e in server.entries() if e.method == "PUT" and e.fault is None]


def test_writes_the_token_as_a_secret_variable_and_keeps_everything_else(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",))
    server.model.add_group("other-group", {"X": Variable("x")})
    found = server.model.definition_named("numpy-feedstock")
    found.groups.append(server.model.group_named("other-group").id)
    found.variables.update(PLAIN=Variable("p"), OTHER_SECRET=Variable("o", is_secret=True))
    store: CISecretStore = store_for(server)
    token = Secret.new_token()
    assert store.feedstock_token_written(repo()) is None
    ack = store.write_feedstock_token(repo(), token)
    assert server.secret_value("numpy-feedstock", TOKEN) == token.reveal()
    assert server.ci_secrets("numpy-feedstock") == {
        "STAGING_BINSTAR_TOKEN": STAGING_VALUE, "X": "x", "PLAIN": "p", "OTHER_SECRET": "o",
        TOKEN: token.reveal()}
    stored = server.model.definition_named("numpy-feedstock")
    assert stored.variables[TOKEN] == Variable(token.reveal(), True, False)
    assert len(stored.groups) == 2 and stored.revision == 2
    # the ack is the service's own date of the revision that holds the token
    assert ack.name == TOKEN and ack.updated_at == parse_time(stored.revisions[-1].changed)
    assert ack.updated_at.tzinfo == dt.timezone.utc
    assert abs(time.time() - ack.updated_at.timestamp()) < 5
    assert store.feedstock_token_written(repo()) == ack


def test_a_fresh_store_reads_back_when_the_token_was_written(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock", "scipy-feedstock"), linked=False)
    ack = store_for(server).write_feedstock_token(repo(), Secret.new_token())
    assert store_for(server).feedstock_token_written(repo()) == ack
    store_for(server).ensure_staging_access(repo())  # a later revision, another comment
    later = store_for(server)
    assert later.feedstock_token_written(repo()) == ack
    assert later.http.tally.requests["numpy-feedstock"] == 3  # list, definition, revisions
    # written by someone else: the oldest revision is the only date it cannot predate
    other = server.model.definition_named("scipy-feedstock")
    other.variables[TOKEN] = Variable("theirs", is_secret=True)
    other.save("")
    assert later.feedstock_token_written(repo("scipy-feedstock")) == \
        (TOKEN, parse_time(other.revisions[0].changed))


def test_the_staging_group_is_linked_where_missing_and_other_links_stay(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock", "scipy-feedstock"), linked=False)
    server.model.add_group("other-group", {"X": Variable("x")})
    other = server.model.group_named("other-group").id
    server.model.definition_named("numpy-feedstock").groups.append(other)
    store = store_for(server)
    store.ensure_staging_access(repo())
    staging = server.model.group_named("anaconda-org").id
    assert server.model.definition_named("numpy-feedstock").groups == [other, staging]
    assert server.ci_secrets("numpy-feedstock")["STAGING_BINSTAR_TOKEN"] == STAGING_VALUE
    before = len(server.entries())
    store.ensure_staging_access(repo())  # linked now: nothing to send
    fresh = store_for(server)
    fresh.ensure_staging_access(repo())
    assert len(server.entries()) == before + 3  # the fresh store: list, group, definition
    assert fresh.http.tally.writes["numpy-feedstock"] == 0
    assert server.model.definition_named("numpy-feedstock").revision == 2


def test_requests_per_feedstock_for_a_token_and_group_cycle(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    names = tuple(f"pkg{i}-feedstock" for i in range(6))
    server = make_azure_server(names, linked=False)
    for name in names[:3]:  # as conda-smithy registers them: already linked
        server.model.definition_named(name).groups.append(
            server.model.group_named("anaconda-org").id)
    store = store_for(server)
    for name in names:
        store.write_feedstock_token(repo(name), Secret.new_token())
        store.ensure_staging_access(repo(name))
    tally = store.http.tally
    assert [tally.requests[n] for n in names] == [3, 3, 3, 4, 4, 4]
    assert [tally.writes[n] for n in names] == [1, 1, 1, 2, 2, 2]
    assert tally.requests["-"] == 1 and tally.writes["-"] == 0  # the group, once a run
    assert all(server.ci_secrets(n)["STAGING_BINSTAR_TOKEN"] == STAGING_VALUE for n in names)
    # every request was checked against the description, and none was outside it
    assert server.checker.checked == {"requests": 22, "responses": 22}
    assert len(server.entries()) == 22 and not server.checker.violations


def test_a_feedstock_without_a_definition_fails_alone(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",))
    store = store_for(server)
    with pytest.raises(StoreError, match="^nope-feedstock: no Azure Pipelines build "
                                         "definition named nope-feedstock in conda-forge/"
                                         "feedstock-builds$"):
        store.write_feedstock_token(repo("nope-feedstock"), Secret.new_token())
    with pytest.raises(StoreError, match="nope-feedstock"):
        store.ensure_staging_access(repo("nope-feedstock"))
    with pytest.raises(StoreError, match="nope-feedstock"):
        store.feedstock_token_written(repo("nope-feedstock"))
    store.feedstock_token_written(repo())  # caches its id
    del server.model.definitions[server.model.definition_named("numpy-feedstock").id]
    with pytest.raises(StoreError, match="numpy-feedstock: build definition .* is gone"):
        store.write_feedstock_token(repo(), Secret.new_token())


def test_a_missing_staging_group_fails_the_feedstock(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",), linked=False)
    server.model.groups.clear()
    with pytest.raises(StoreError, match="numpy-feedstock: 0 variable groups are named "
                                         "anaconda-org"):
        store_for(server).ensure_staging_access(repo())


def test_a_definition_changed_by_someone_else_is_read_again(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",))
    store = store_for(server)
    assert store.feedstock_token_written(repo()) is None  # reads (and keeps) the definition
    theirs = server.model.definition_named("numpy-feedstock")
    theirs.variables["THEIRS"] = Variable("t")
    theirs.save("someone else")
    token = Secret.new_token()
    store.write_feedstock_token(repo(), token)
    assert server.ci_secrets("numpy-feedstock")["THEIRS"] == "t"
    assert server.secret_value("numpy-feedstock", TOKEN) == token.reveal()
    assert [e.status for e in server.entries() if e.method == "PUT"] == [409, 200]


def test_faults_and_limit_answers_are_survived(make_azure_server: MakeAzure) -> None:  # noqa: F811
    server = make_azure_server(("numpy-feedstock", "scipy-feedstock"), linked=False,
                               faults=Faults(wait=0))
    server.faults.plan("5xx", "drop", "429", "delay", method="GET")
    server.faults.plan("drop-after", "5xx", method="PUT")
    pacer = fast_azure_pacer()
    store = store_for(server, pacer=pacer)
    tokens = {name: Secret.new_token() for name in ("numpy-feedstock", "scipy-feedstock")}
    for name, token in tokens.items():
        store.write_feedstock_token(repo(name), token)
        store.ensure_staging_access(repo(name))
    for name, token in tokens.items():
        assert server.secret_value(name, TOKEN) == token.reveal()
        assert server.ci_secrets(name)["STAGING_BINSTAR_TOKEN"] == STAGING_VALUE
    assert pacer.faults == {"5xx": 2, "dropped": 2, "blocked": 1, "delayed": 1}
    assert server.faults.injected == {"5xx": 2, "drop": 1, "429": 1, "delay": 1,
                                      "drop-after": 1}
    # the PUT whose answer was lost took effect; sent again (after a 503) with the old
    # revision it is refused, and the store reads the definition again
    numpy = [e.status for e in server.entries() if e.method == "PUT"][:4]
    assert numpy == [0, 503, 409, 200]


def test_giving_up_after_the_last_attempt(make_azure_server: MakeAzure) -> None:  # noqa: F811
    server = make_azure_server(("numpy-feedstock",), faults=Faults({"5xx": 1.0}))
    store = store_for(server, attempts=3)
    with pytest.raises(StoreError, match=r"^numpy-feedstock: GET .* 503 after 3 attempts$"):
        store.write_feedstock_token(repo(), Secret.new_token())
    assert len(server.entries()) == 3


def test_writes_are_spaced_by_the_pacer(make_azure_server: MakeAzure) -> None:  # noqa: F811
    names = ("a-feedstock", "b-feedstock", "c-feedstock", "d-feedstock")
    server = make_azure_server(names)
    store = store_for(server, pacer=fast_azure_pacer(ceilings=(Ceiling(5, 1.0),)))
    for name in names:
        store.write_feedstock_token(repo(name), Secret.new_token())
    times = puts(server)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.2 - 0.01


def test_retry_after_is_waited_for_blocks_and_delays(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",), faults=Faults(wait=1))
    server.faults.plan("429", "delay")
    pacer = fast_azure_pacer()
    store = store_for(server, pacer=pacer)
    store.write_feedstock_token(repo(), Secret.new_token())
    arrivals = [e.at for e in server.entries()]
    # blocked list, list again (a real answer, delayed), the definition, the PUT
    assert [e.fault for e in server.entries()] == ["429", "delay", None, None]
    assert arrivals[1] - arrivals[0] >= 1.0 and arrivals[2] - arrivals[1] >= 1.0
    assert pacer.waited == 2.0 and pacer.limit_answers == 1


def test_refused_credentials_stop_the_run_without_showing_them(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",))
    wrong = "wrong-pat-value-42"
    store = AzurePipelines(pat=Secret(wrong), base_url=server.url, pacer=fast_azure_pacer())
    with pytest.raises(UserError, match="refused the credentials") as caught:
        store.write_feedstock_token(repo(), Secret.new_token())
    assert wrong not in str(caught.value)


def test_secrets_reach_only_the_one_request_body_that_carries_them(
    make_azure_server: MakeAzure, caplog: pytest.LogCaptureFixture,  # noqa: F811
) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_azure_server(("numpy-feedstock", "scipy-feedstock"), linked=False)
    server.faults.plan("5xx", "drop", method="GET")
    store = store_for(server)
    token = Secret.new_token()
    store.write_feedstock_token(repo(), token)
    store.ensure_staging_access(repo())
    store.feedstock_token_written(repo())
    with pytest.raises(StoreError) as missing:
        store.write_feedstock_token(repo("nope-feedstock"), token)
    server.faults.plan("drop", method="PUT")
    with pytest.raises(StoreError, match="no answer") as dropped:
        store_for(server, attempts=1).write_feedstock_token(repo(), token)
    errors = [f"{e.value!r} {e.value}" for e in (missing, dropped)]
    pat_forms = (server.pat, base64.b64encode(f":{server.pat}".encode()).decode())
    texts = [caplog.text, *errors, repr(store.__dict__), repr(store.http.__dict__)]
    assert "azure PUT /build/definitions/" in caplog.text  # the log was captured
    for text in texts:
        assert token.reveal() not in text
        assert not any(form in text for form in pat_forms)
    carrying = [e for e in server.entries()
                if token.reveal() in f"{e.path} {e.query} {e.headers} {e.body}"]
    assert [(e.method, e.status) for e in carrying] == [("PUT", 200), ("PUT", 0)]
    assert all(token.reveal() in e.body and token.reveal() not in f"{e.path}{e.query}"
               f"{e.headers}" for e in carrying)
    # the successful write carries it once, and so does the write whose answer was lost
    assert sum(e.body.count(token.reveal()) for e in carrying) == 2


def test_an_error_that_quotes_the_request_is_scrubbed(make_azure_server: MakeAzure) -> None:  # noqa: F811
    server = make_azure_server(("numpy-feedstock",))
    store = store_for(server)
    token = Secret.new_token()
    # a body outside the description: the stand-in's 400 quotes it back, as a service may
    with pytest.raises(AzureHttpError) as caught:
        store.http.call("PUT", "/build/definitions/1", label="numpy-feedstock",
                        body={"revision": "x", "variables": {TOKEN: {"value": token.reveal()}}},
                        secrets=(token,))
    assert caught.value.status == 400 and "********" in str(caught.value)
    assert token.reveal() not in str(caught.value)
    assert len(server.checker.violations) == 1 and token.reveal() in \
        server.checker.violations[0]
    server.checker.violations.clear()  # provoked on purpose


def test_revision_comments_mark_our_writes(make_azure_server: MakeAzure) -> None:  # noqa: F811
    server = make_azure_server(("numpy-feedstock",))
    store_for(server).write_feedstock_token(repo(), Secret.new_token())
    assert server.model.definition_named("numpy-feedstock").revisions[-1].comment == \
        WRITE_COMMENT
