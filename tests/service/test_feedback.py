"""What the maintainers are told: a typed reason per output in the response, and one
comment per commit and reason, however often CI sends the same failing request."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.core.secret import Secret
from migrator.service.core import Service
from migrator.service.results import ADD_OUTPUT, TOKEN_RESET
from testing.outputs_support import body, stage
from testing.service_support import LightEnv, add_token, light_env, set_outputs

SHA = "c0ffee" * 6 + "abcd"


@pytest.fixture(name="env")
def env_fixture(tmp_path: Path) -> LightEnv:
    env = light_env(tmp_path)
    set_outputs(env, {"gadget": ["gadget"], "libgadget": ["gadget"], "sprocket": ["sprocket"]},
                allowlist={"sprocket": ["sprocket-*"]})
    return env


def test_one_comment_per_commit_and_reason_across_retries(env: LightEnv,
                                                          tmp_path: Path) -> None:
    token, _ = add_token(env, "gadget")
    good, good_sha = stage(env.service, tmp_path, name="gadget")
    stolen, stolen_sha = stage(env.service, tmp_path, name="sprocket")
    globbed, globbed_sha = stage(env.service, tmp_path, name="sprocket-extra")
    missing = "noarch/libgadget-9-0.conda"
    outputs = {good.key: good_sha, stolen.key: stolen_sha, globbed.key: globbed_sha,
               missing: "1" * 64}
    reports = [env.service.copy(body("gadget", outputs, git_sha=SHA), token) for _ in range(3)]

    kinds = [{k: r.kind.value for k, r in report.results.items()} for report in reports]
    assert kinds[0] == {good.key: "copied", stolen.key: "not_owner",
                        globbed.key: "not_owner", missing: "staging_missing"}
    assert kinds[1] == kinds[2] == {**kinds[0], good.key: "already_published"}
    comments = env.comments("gadget")
    assert len(comments) == 1 and comments[0]["sha"] == SHA
    text = comments[0]["body"]
    # one line per output, each file named once, each reason with its remedy
    for key in outputs:
        assert text.count(key.split("/")[1]) == 1, key
    assert re.search(rf"^- `{re.escape(good.key)}`$", text, re.M)
    assert (f"- `{stolen.key}`: the package name sprocket is registered to "
            "sprocket-feedstock. To fix: " in text)
    assert (f"- `{globbed.key}`: the package name sprocket-extra is matched by the "
            "allowlist patterns of sprocket-feedstock. To fix: " in text)
    assert ADD_OUTPUT in text and '"add a package output to a feedstock"' in text
    assert f"- `{missing}`: not on cf-staging. To fix: check the upload step" in text
    assert "1 of 4 was published to the `main` label of conda-forge, 3 were not" in text
    assert "above" not in text
    # a retry failing for a new reason is told, once
    other, other_sha = stage(env.service, tmp_path, name="libgadget", version="2")
    again = {**outputs, other.key: other_sha[::-1]}
    for _ in range(2):
        report = env.service.copy(body("gadget", again, git_sha=SHA), token)
        assert report.results[other.key].kind.value == "hash_mismatch"
    comments = env.comments("gadget")
    assert len(comments) == 2 and f"- `{other.key}`: on cf-staging it has" in comments[1]["body"]
    # the markers are durable: a restarted service does not tell again
    fresh = Service(forge=env.forge, channels=env.service.channels, state_dir=env.state)
    fresh.copy(body("gadget", again, git_sha=SHA), token)
    assert len(env.comments("gadget")) == 2


def test_nothing_published_says_so(env: LightEnv, tmp_path: Path) -> None:
    token, _ = add_token(env, "gadget")
    stolen, sha = stage(env.service, tmp_path, name="sprocket")
    env.service.copy(body("gadget", {stolen.key: sha, "noarch/gadget-5-0.conda": "2" * 64},
                          git_sha=SHA), token)
    (comment,) = env.comments("gadget")
    assert "None of the 2 packages built from this commit were published" in comment["body"]
    assert "every" not in comment["body"] and "Published:" not in comment["body"]


def _refusal_texts(env: LightEnv, feedstock: str, token: Secret) -> tuple[Any, str]:
    payload = body(feedstock, {f"noarch/{feedstock}-1-0.conda": "3" * 64}, git_sha=SHA)
    answers = [env.service.copy(payload, token).to_json() for _ in range(3)]
    comments = env.comments(feedstock)
    assert len(comments) == 1  # three requests, one comment
    strip = re.compile(rf"{feedstock}|request [0-9a-f]{{32}}|\"request_id\": \"[0-9a-f]+\"")
    answer = {k: v for k, v in answers[0].items() if k not in ("request_id", "feedstock")}
    return strip.sub("X", repr(answer)), strip.sub("X", comments[0]["body"])


def test_an_invalid_token_is_told_without_a_word_about_the_registry(env: LightEnv) -> None:
    add_token(env, "gadget")
    add_token(env, "gadget", provider="azure", keep=[add_token(env, "gadget")[1]])
    known = _refusal_texts(env, "gadget", Secret.new_token())
    unknown = _refusal_texts(env, "nobody-has-this", Secret.new_token())
    assert known == unknown
    answer, comment = known
    assert "auth_failed" in answer and "not a valid token of X-feedstock" in comment
    assert "was refused, so its package was" in comment and TOKEN_RESET in comment
    assert "- `noarch/X-1-0.conda`: not published" in comment


def test_tokens_of_another_provider_or_expired_say_what_they_are(env: LightEnv,
                                                                  tmp_path: Path) -> None:
    azure, old_entry = add_token(env, "gadget", provider="azure",
                                 expires_at=time.time() + 3600)
    expired, _ = add_token(env, "gadget", expires_at=time.time() - 60, keep=[old_entry])
    dist, sha = stage(env.service, tmp_path, name="gadget")
    payload = body("gadget", {dist.key: sha}, provider="github_actions")
    wrong = env.service.copy(payload, azure)
    assert wrong.error is not None and wrong.error.kind.value == "provider_mismatch"
    assert wrong.status_code == 403
    assert "for another CI provider than github_actions" in wrong.error.message
    old = env.service.copy(payload, expired)
    assert old.error is not None and old.error.kind.value == "auth_failed"
    assert "expired token of gadget-feedstock" in old.error.message
    told = [c["body"] for c in env.comments("gadget")]  # one comment per reason
    assert len(told) == 2 and "for another CI provider" in told[0] and "expired" in told[1]


def test_a_comment_that_could_not_be_posted_is_tried_again(env: LightEnv,
                                                          tmp_path: Path) -> None:
    token, _ = add_token(env, "gadget")
    failing = {"left": 1}
    post = env.forge.comment_on_commit

    def flaky(repo: str, sha: str, text: str) -> None:
        if failing["left"]:
            failing["left"] -= 1
            raise OSError("the forge did not answer")
        post(repo, sha, text)

    env.forge.comment_on_commit = flaky  # type: ignore[method-assign,assignment]
    payload = body("gadget", {"noarch/gadget-7-0.conda": "4" * 64}, git_sha=SHA)
    env.service.copy(payload, token)
    assert env.comments("gadget") == []
    env.service.copy(payload, token)
    env.service.copy(payload, token)
    assert len(env.comments("gadget")) == 1


def test_requests_that_ask_for_silence_leave_no_marker(env: LightEnv) -> None:
    token, _ = add_token(env, "gadget")
    payload = body("gadget", {"noarch/gadget-7-0.conda": "4" * 64}, git_sha=SHA,
                   comment_on_error=False)
    report = env.service.copy(payload, token)
    assert report.results["noarch/gadget-7-0.conda"].kind.value == "staging_missing"
    env.service.copy(payload, Secret.new_token())
    assert env.comments("gadget") == []
    assert not (env.state / "notices").exists()
