"""Small pieces: request parsing, file names, token rules, reports, the comment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from migrator.channels.dists import BadDist, parse_dist
from migrator.core.secret import Secret
from migrator.registries import token_file as registry_file
from migrator.registries.token_hashing import hash_token
from migrator.service.auth import TokenChecker
from migrator.service.notify import comment_body
from migrator.service.request import BadRequest, parse_request
from migrator.service.response import Report
from migrator.service.results import Kind, result
from testing.outputs_support import commit_files, make_forge


def test_parse_dist() -> None:
    dist = parse_dist("linux-64/numpy-base-2.0.0-py312h1234_0.conda")
    assert (dist.subdir, dist.name, dist.version, dist.build) == (
        "linux-64", "numpy-base", "2.0.0", "py312h1234_0")
    assert parse_dist("noarch/a-1-0.tar.bz2").stem == "a-1-0"
    for bad in ("numpy-1-0.conda", "linux-64/x/numpy-1-0.conda", "linux-64/numpy.conda",
                "Linux-64/numpy-1-0.conda", "noarch/numpy-1-0.whl", "noarch/-1-0.conda",
                "noarch/numpy-1 0-0.conda", "../numpy-1-0.conda"):
        with pytest.raises(BadDist):
            parse_dist(bad)


def test_parse_request_defaults_and_normalisation() -> None:
    request = parse_request({"feedstock": "NumPy-feedstock", "channel": "main",
                             "outputs": {"noarch/numpy-1-0.conda": "A" * 32}})
    assert request.feedstock == "numpy"
    # as upstream: md5 unless named, and comments only when a commit was named
    assert (request.hash_type, request.label, request.comment_on_error) == ("md5", "main", False)
    assert request.outputs == {"noarch/numpy-1-0.conda": "a" * 32}
    with pytest.raises(BadRequest, match="'channel' is required"):
        parse_request({"feedstock": "x", "outputs": {"noarch/x-1-0.conda": "a" * 32}})
    with pytest.raises(BadRequest, match="'comment_on_error'"):
        parse_request({"feedstock": "x", "outputs": {"noarch/x-1-0.conda": "a" * 32},
                       "channel": "main", "comment_on_error": "yes"})
    with pytest.raises(BadRequest, match="at most"):
        parse_request({"feedstock": "x", "channel": "main", "outputs": {
            f"noarch/x-{i}-0.conda": "a" * 32 for i in range(101)}})


def test_token_rules(tmp_path: Path) -> None:
    forge = make_forge(tmp_path / "forge", count=1)
    now = time.time()
    token, github_only, old = Secret.new_token(), Secret.new_token(), Secret.new_token()
    entries = [hash_token(token), hash_token(github_only, provider="github_actions"),
               hash_token(old, expires_at=now + 100)]
    commit_files(forge, "feedstock-tokens", {
        "tokens/pkg00000-feedstock.json": registry_file.dump(entries, now=now)}, tmp_path)
    checker = TokenChecker(forge)
    assert checker.check("pkg00000", token, provider="azure")
    assert checker.check("pkg00000", github_only, provider="github_actions")
    assert not checker.check("pkg00000", github_only, provider="azure")
    assert checker.check("pkg00000", old, provider=None, now=now)
    # a remembered match does not outlive its entry's expiry
    assert not checker.check("pkg00000", old, provider=None, now=now + 101)
    assert not checker.check("pkg00000", Secret.new_token(), provider=None)
    assert not checker.check("pkg00001", token, provider=None)  # no registry file


def test_legacy_registry_entry(tmp_path: Path) -> None:
    forge = make_forge(tmp_path / "forge", count=1)
    token = Secret.new_token()
    entry = hash_token(token)
    commit_files(forge, "feedstock-tokens", {"tokens/pkg00000-feedstock.json": (
        f'{{"salt": "{entry.salt}", "hashed_token": "{entry.hashed_token}"}}')}, tmp_path)
    assert TokenChecker(forge).check("pkg00000", token, provider="travis")


@pytest.mark.parametrize(("kinds", "status"), [
    ([Kind.COPIED, Kind.ALREADY_PUBLISHED], 200),
    ([Kind.COPIED, Kind.STAGING_MISSING], 503),
    ([Kind.STAGING_MISSING, Kind.CONFLICT], 403),
    ([Kind.BUSY], 503),
])
def test_report_status(kinds: list[Kind], status: int) -> None:
    report = Report("id", "x", {f"noarch/x-{i}-0.conda": result(k) for i, k in enumerate(kinds)})
    assert report.status_code == status
    data = report.to_json()
    assert data["ok"] is (status == 200)
    assert len(data["errors"]) == sum(not result(k).ok for k in kinds)


def test_terminal_and_retryable() -> None:
    assert result(Kind.CONFLICT).terminal and not result(Kind.CONFLICT).retryable
    assert result(Kind.STAGING_MISSING).retryable and not result(Kind.STAGING_MISSING).terminal
    assert not result(Kind.COPIED).terminal and not result(Kind.COPIED).retryable
    assert all(result(k).message for k in Kind)


def test_comment_text() -> None:
    text = comment_body(request_id="r1", sha="abc123", label="main", results={
        "noarch/a-1-0.conda": result(Kind.COPIED),
        "noarch/b-1-0.conda": result(Kind.HASH_MISMATCH, "b changed"),
        "noarch/c-1-0.conda": result(Kind.STAGING_MISSING, "c is not there"),
    })
    assert "about commit abc123" in text
    assert "1 of 3 was published to the `main` label of conda-forge, 2 were not" in text
    assert "- `noarch/a-1-0.conda`\n" in text
    assert (f"- `noarch/b-1-0.conda`: b changed. To fix: {result(Kind.HASH_MISMATCH).remedy}."
            in text)
    assert "- `noarch/c-1-0.conda`: c is not there. To fix: check the upload step" in text
    assert text.rstrip().endswith("<sub>request r1</sub>")


def test_failures_with_a_commit_are_told() -> None:
    from migrator.service.notify import wanted

    failed = {"noarch/a-1-0.conda": result(Kind.NOT_OWNER)}
    request = {"git_sha": "abc1234", "comment_on_error": True}
    assert wanted(request, failed)
    assert not wanted(request, {"noarch/a-1-0.conda": result(Kind.COPIED)})
    # an invalid token is told too (its text says nothing about the registry)
    refused = result(Kind.AUTH_FAILED)
    assert wanted(request, {"noarch/a-1-0.conda": refused}, refused)
    assert not wanted({"git_sha": None, "comment_on_error": True}, failed)
    assert not wanted({"git_sha": "abc1234", "comment_on_error": False}, failed)
