"""The embedded default's Azure Pipelines: records on disk, secret values sealed, reads
that never give a value back."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges import RepoInfo
from migrator.forges.ci_secrets import CISecretStore, StoreError
from migrator.forges.local_pipelines import (
    LocalPipelines,
    add_pipelines,
    create_staging_group,
    create_store,
)
from testing.leakscan import scan

NAMES = ("numpy-feedstock", "scipy-feedstock", "pandas-feedstock")


def repo(name: str = "numpy-feedstock") -> RepoInfo:
    return RepoInfo(1, name, "main", False)


@pytest.fixture
def staging() -> Secret:
    return Secret.new_token()


@pytest.fixture
def store(tmp_path: Path, staging: Secret) -> LocalPipelines:
    made = create_store(tmp_path / "azure")
    create_staging_group(made.root, staging)
    add_pipelines(made.root, NAMES[:2])
    add_pipelines(made.root, NAMES[2:], link_group=False)
    return made


def test_the_token_is_sealed_on_disk_and_never_read_back(
    store: LocalPipelines, staging: Secret,
) -> None:
    typed: CISecretStore = store
    token = Secret.new_token()
    assert typed.feedstock_token_written(repo()) is None
    ack = typed.write_feedstock_token(repo(), token)
    assert typed.feedstock_token_written(repo()) == ack
    assert ack.name == "FEEDSTOCK_TOKEN" and ack.updated_at.utcoffset() == dt.timedelta(0)
    seen = store.pipeline("numpy-feedstock")
    assert seen.revision == 2 and seen.updated_at == ack.updated_at
    assert seen.variables["FEEDSTOCK_TOKEN"].is_secret
    assert seen.variables["FEEDSTOCK_TOKEN"].value is None
    assert store.decrypt_variable("numpy-feedstock", "FEEDSTOCK_TOKEN") == token.reveal()
    assert scan([token.reveal(), staging.reveal()], trees=[store.root]) == []
    record = json.loads((store.root / "pipelines" / "numpy-feedstock.json").read_text())
    assert set(record["variables"]["FEEDSTOCK_TOKEN"]) == \
        {"is_secret", "allow_override", "updated_at", "sealed"}


def test_a_new_token_replaces_the_old_and_keeps_the_group_link(
    store: LocalPipelines, staging: Secret,
) -> None:
    first, second = Secret.new_token(), Secret.new_token()
    store.write_feedstock_token(repo(), first)
    store.write_feedstock_token(repo(), second)
    assert store.ci_secrets("numpy-feedstock") == {
        "STAGING_BINSTAR_TOKEN": staging.reveal(), "FEEDSTOCK_TOKEN": second.reveal()}
    assert store.pipeline("numpy-feedstock").groups == ("anaconda-org",)
    assert store.pipeline("numpy-feedstock").revision == 3


def test_the_staging_group_is_linked_only_where_missing(
    store: LocalPipelines, staging: Secret,
) -> None:
    token = Secret.new_token()
    store.write_feedstock_token(repo("pandas-feedstock"), token)
    assert store.pipeline("pandas-feedstock").groups == ()
    assert store.ci_secrets("pandas-feedstock") == {"FEEDSTOCK_TOKEN": token.reveal()}
    store.ensure_staging_access(repo("pandas-feedstock"))
    store.ensure_staging_access(repo("pandas-feedstock"))
    linked = store.pipeline("pandas-feedstock")
    assert linked.groups == ("anaconda-org",) and linked.revision == 3
    assert store.ci_secrets("pandas-feedstock")["STAGING_BINSTAR_TOKEN"] == staging.reveal()
    store.ensure_staging_access(repo())  # linked when it was made: nothing changes
    assert store.pipeline("numpy-feedstock").revision == 1


def test_failures_name_the_feedstock(tmp_path: Path, store: LocalPipelines) -> None:
    with pytest.raises(StoreError, match="^nope-feedstock: no Azure Pipelines build "
                                         "definition named nope-feedstock in conda-forge/"
                                         "feedstock-builds$"):
        store.write_feedstock_token(repo("nope-feedstock"), Secret.new_token())
    with pytest.raises(StoreError, match="cannot name a build definition"):
        store.feedstock_token_written(repo("../secrets"))
    bare = create_store(tmp_path / "bare")
    add_pipelines(bare.root, ["numpy-feedstock"])  # no group yet: nothing to link
    assert bare.pipeline("numpy-feedstock").groups == ()
    with pytest.raises(StoreError, match="numpy-feedstock: variable group anaconda-org "
                                         "does not exist"):
        bare.ensure_staging_access(repo())
    with pytest.raises(UserError, match="not a local Azure Pipelines store"):
        LocalPipelines(tmp_path / "elsewhere")


def test_making_it_again_keeps_what_is_there(store: LocalPipelines, staging: Secret) -> None:
    token = Secret.new_token()
    store.write_feedstock_token(repo(), token)
    again = create_store(store.root)
    add_pipelines(store.root, NAMES)
    assert again.decrypt_variable("numpy-feedstock", "FEEDSTOCK_TOKEN") == token.reveal()
    ids = [store.pipeline(n).id for n in NAMES]
    assert len(set(ids)) == 3 and store.pipeline("numpy-feedstock").revision == 2
    replaced = Secret.new_token()
    create_staging_group(store.root, replaced)
    assert store.ci_secrets("numpy-feedstock")["STAGING_BINSTAR_TOKEN"] == replaced.reveal()


def test_parallel_changes_to_one_definition_lose_nothing(tmp_path: Path,
                                                        staging: Secret) -> None:
    made = create_store(tmp_path / "azure")
    create_staging_group(made.root, staging)
    names = [f"pkg{i}-feedstock" for i in range(8)]
    add_pipelines(made.root, names, link_group=False)
    tokens = {n: Secret.new_token() for n in names}

    def write(name: str) -> None:
        LocalPipelines(made.root).write_feedstock_token(repo(name), tokens[name])

    def link(name: str) -> None:
        LocalPipelines(made.root).ensure_staging_access(repo(name))

    threads = [threading.Thread(target=job, args=(n,)) for n in names for job in (write, link)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        assert made.decrypt_variable(name, "FEEDSTOCK_TOKEN") == tokens[name].reveal()
        assert made.pipeline(name).groups == ("anaconda-org",)
        assert made.pipeline(name).revision == 3
