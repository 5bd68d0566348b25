"""conda-forge's exact rules: who may publish a name (the union of the registry file and
the allowlist globs), exactly the requested label on staging, the request's required
and defaulted fields, the legacy endpoints, and the registry's config files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.registries import outputs_registry as registry
from migrator.service.pipeline import not_owner_detail
from migrator.service.request import BadRequest, parse_request
from migrator.service.webapp import create_app
from testing.outputs_support import body, stage
from testing.service_support import LightEnv, add_token, light_env, set_outputs

# Shapes seen in conda-forge's registry, with made-up names: a name registered to one
# feedstock and matched by another's glob; two feedstocks sharing one glob; a glob that
# differs from a name only in case.
OWNERS = {"libgadget7": ["gadget"], "gadget": ["gadget"], "caps-lib": ["caps"]}
ALLOWLIST = {
    "gadget-tools": ["libgadget*"],
    "widgets": ["widget-*"],
    "fortran-a": ["libfort[0-9]*"],
    "fortran-b": ["libfort[0-9]*"],
    "caps": ["Libgadget*"],
}


@pytest.fixture(scope="module")
def rules_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightEnv]:
    env = light_env(tmp_path_factory.mktemp("rules"))
    set_outputs(env, OWNERS, allowlist=ALLOWLIST)
    yield env


@pytest.mark.parametrize(("feedstock", "name", "allowed", "owners"), [
    # registered to gadget, matched by gadget-tools' glob: both may publish it
    ("gadget-tools", "libgadget7", True, ("gadget", "gadget-tools")),
    ("gadget", "libgadget7", True, ("gadget", "gadget-tools")),
    ("widgets", "libgadget7", False, ("gadget", "gadget-tools")),
    # unregistered, one glob: that feedstock only
    ("widgets", "widget-core", True, ("widgets",)),
    ("gadget", "widget-core", False, ("widgets",)),
    # one glob shared by two feedstocks
    ("fortran-a", "libfort5", True, ("fortran-a", "fortran-b")),
    ("fortran-b", "libfort5", True, ("fortran-a", "fortran-b")),
    # fnmatch is case-sensitive: caps' "Libgadget*" does not match "libgadget7"
    ("caps", "libgadget7", False, ("gadget", "gadget-tools")),
    # nobody's: refused while auto_register_all is off
    ("gadget", "brand-new", False, ()),
])
def test_owners_are_the_registry_file_and_the_globs(
        rules_env: LightEnv, feedstock: str, name: str, allowed: bool,
        owners: tuple[str, ...]) -> None:
    owned = registry.ownership(rules_env.forge, feedstock=f"{feedstock}-feedstock", name=name)
    assert (owned.allowed, owned.owners) == (allowed, owners)
    assert owned.unregistered is (name not in OWNERS)


def test_auto_register_all_decides_only_for_names_nobody_claims(tmp_path: Path) -> None:
    env = light_env(tmp_path)
    set_outputs(env, {"taken": ["someone"]}, allowlist={"globber": ["glob-*"]},
                config={"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z",
                        "auto_register_all": True})
    rules = registry.read_rules(env.forge)
    assert rules.config.auto_register_all is True
    assert registry.ownership(env.forge, feedstock="anyone", name="free", rules=rules).allowed
    for name in ("taken", "glob-x"):
        assert not registry.ownership(env.forge, feedstock="anyone", name=name,
                                      rules=rules).allowed


def test_a_glob_allows_a_name_registered_to_another_feedstock(tmp_path: Path) -> None:
    env = light_env(tmp_path)
    token, _ = add_token(env, "gadget-tools")
    set_outputs(env, {"libgadget7": ["gadget"]}, allowlist={"gadget-tools": ["libgadget*"]})
    taken, taken_sha = stage(env.service, tmp_path, name="libgadget7")
    free, free_sha = stage(env.service, tmp_path, name="libgadget8")
    report = env.service.copy(body("gadget-tools", {taken.key: taken_sha,
                                                    free.key: free_sha}), token)
    assert {k: r.kind.value for k, r in report.results.items()} == {
        taken.key: "copied", free.key: "copied"}
    # a registered name keeps its file as it was; a free one is registered to its
    # publisher (by a commit made in the background for many requests; flushed here)
    env.service.flush_claims()
    assert registry.registered(env.forge, "libgadget7") == ["gadget"]
    assert registry.registered(env.forge, "libgadget8") == ["gadget-tools"]


@pytest.mark.parametrize(("labels", "wanted", "outcome"), [
    (("main",), "main", "copied"),
    (("main", "rc"), "main", "label_mismatch"),  # upstream: the label set must be {main}
    (("rc",), "main", "label_mismatch"),
    ((), "main", "label_mismatch"),
    (("rc",), "rc", "copied"),
])
def test_the_staged_file_carries_exactly_the_requested_label(
        tmp_path: Path, labels: tuple[str, ...], wanted: str, outcome: str) -> None:
    env = light_env(tmp_path)
    token, _ = add_token(env, "gadget")
    set_outputs(env, {"gadget": ["gadget"]})
    dist, sha = stage(env.service, tmp_path, name="gadget", labels=labels)
    report = env.service.copy(body("gadget", {dist.key: sha}, channel=wanted), token)
    found = report.results[dist.key]
    assert found.kind.value == outcome
    if outcome == "label_mismatch":
        assert found.terminal and dist.fn not in found.message
        assert "needs that label alone" in found.detail
        assert env.service.channels.production.info(dist) is None
    else:
        published = env.service.channels.production.info(dist)
        assert published is not None and published.labels == {wanted}


def test_channel_is_required_and_comments_default_to_the_commit() -> None:
    base = {"feedstock": "x-feedstock", "outputs": {"noarch/x-1-0.conda": "a" * 32}}
    with pytest.raises(BadRequest, match="'channel' is required"):
        parse_request(base)
    assert parse_request({**base, "channel": "main"}).comment_on_error is False
    assert parse_request({**base, "channel": "main", "git_sha": "ab" * 20}).comment_on_error
    assert not parse_request({**base, "channel": "main", "git_sha": "ab" * 20,
                              "comment_on_error": False}).comment_on_error
    assert not parse_request({**base, "channel": "main", "comment_on_error": None}
                             ).comment_on_error


def test_legacy_and_health_endpoints(rules_env: LightEnv) -> None:
    client = create_app(rules_env.service, executor=None).test_client()  # type: ignore[arg-type]
    validate = client.post("/feedstock-outputs/validate", json={"anything": 1})
    assert (validate.status_code, validate.get_json()) == (200, {"deprecated": True})
    alive = client.get("/alive")
    assert (alive.status_code, alive.get_json()) == (200, {"status": "operational"})
    assert alive.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/healthz").get_json() == {"ok": True}
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.get_json()["error"] == "Not Found"


def test_the_seeded_registry_has_the_files_conda_forge_reads(rules_env: LightEnv,
                                                            tmp_path: Path) -> None:
    seeded = light_env(tmp_path)  # as `forge init` makes it, before any test commit
    assert registry.read_config(seeded.forge) == registry.Config(
        outputs_path="outputs", shard_level=3, shard_fill="z", auto_register_all=False)
    assert registry.allowlist(seeded.forge) == {}
    assert registry.allowlist(rules_env.forge)["caps"] == ("Libgadget*",)  # kept as written


@pytest.mark.parametrize("text", [
    '{"outputs_path": "../x"}', '{"shard_level": "three"}', '{"shard_fill": "zz"}',
    '{"auto_register_all": "yes"}', "[1]", "not json",
])
def test_a_config_the_registry_cannot_use_is_refused(text: str) -> None:
    with pytest.raises(registry.RegistryError):
        registry.parse_config(text)


def test_config_changes_where_names_are_read() -> None:
    config = registry.Config(outputs_path="names", shard_level=2, shard_fill="_")
    assert registry.shard_path("R", config) == "names/r/_/r.json"
    assert registry.shard_path("numpy") == "outputs/n/u/m/numpy.json"


def test_a_refused_name_names_everyone_who_may_publish_it(rules_env: LightEnv) -> None:
    def detail(feedstock: str, name: str) -> str:
        owned = registry.ownership(rules_env.forge, feedstock=feedstock, name=name)
        return not_owner_detail(name, owned)

    assert detail("widgets", "libgadget7") == (
        "the package name libgadget7 is registered to gadget-feedstock and matched by the "
        "allowlist patterns of gadget-tools-feedstock")
    assert detail("gadget", "libfort5") == (
        "the package name libfort5 is matched by the allowlist patterns of "
        "fortran-a-feedstock, fortran-b-feedstock")
    assert detail("gadget", "brand-new") == (
        "the package name brand-new is not registered to any feedstock")
