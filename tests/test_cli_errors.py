"""Every mistake a user can make on the command line ends in one clear line on stderr and
a non-zero exit, without a traceback and without a long wait."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from testing.runs import run_cli


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def github_env(**extra: str) -> dict[str, str]:
    """The GitHub forge's environment, with nothing inherited that could change the path."""
    return {"GITHUB_TOKEN": "", "GITHUB_APP_ID": "", "GITHUB_APP_PRIVATE_KEY": "",
            "GITHUB_APP_INSTALLATION_ID": "", "AZURE_DEVOPS_TOKEN": "azure-pat",
            "MIGRATOR_CONNECT_TIMEOUT": "", **extra}


@pytest.mark.parametrize("key", [
    "not a key at all",
    "-----BEGIN RSA PRIVATE KEY-----\nAAAAB3NzaC1yc2E=\n-----END RSA PRIVATE KEY-----",
    pem(ec.generate_private_key(ec.SECP256R1())),  # a real key, but GitHub signs with RSA
])
def test_an_unusable_app_private_key(tmp_path: Path, key: str) -> None:
    result = run_cli("run", "output-validation", "--forge", "github", "--state",
                     str(tmp_path / "state"), env=github_env(
                         GITHUB_APP_ID="12345", GITHUB_APP_PRIVATE_KEY=key,
                         GITHUB_APP_INSTALLATION_ID="678"))
    assert one_line(result) == (
        "migrator: error: GITHUB_APP_PRIVATE_KEY is not an unencrypted RSA private key in "
        "PEM form (the .pem file GitHub gives for the App)")
    assert not (tmp_path / "state").exists()


def test_a_state_option_that_names_a_file(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=1, corpus_share=0)
    state = tmp_path / "state.json"
    state.write_text("{}\n")
    for command in ("run", "status"):
        result = run_cli(command, "output-validation", "--forge", str(forge.root),
                         "--state", str(state))
        assert one_line(result) == f"migrator: error: --state {state} is a file; give a folder"
        result = run_cli(command, "output-validation", "--forge", str(forge.root),
                         "--state", str(state / "inner"))
        assert one_line(result) == (f"migrator: error: --state {state / 'inner'} is below "
                                    f"the file {state}; give a folder")
    assert state.read_text() == "{}\n"


@pytest.mark.parametrize("auth", ["token", "app"])
def test_an_unreachable_api_fails_within_the_connect_timeout(tmp_path: Path,
                                                             auth: str) -> None:
    port = closed_port()
    credentials = {"GITHUB_TOKEN": "ghp_" + "x" * 36} if auth == "token" else {
        "GITHUB_APP_ID": "12345", "GITHUB_APP_INSTALLATION_ID": "678",
        "GITHUB_APP_PRIVATE_KEY": pem(rsa.generate_private_key(65537, 2048))}
    started = time.monotonic()
    result = run_cli("run", "output-validation", "--forge", "github", "--state",
                     str(tmp_path / "state"), env=github_env(
                         GITHUB_API_URL=f"http://127.0.0.1:{port}",
                         GITHUB_SERVER_URL=f"http://127.0.0.1:{port}",
                         MIGRATOR_CONNECT_TIMEOUT="2", **credentials))
    took = time.monotonic() - started
    assert one_line(result) == (
        f"migrator: error: cannot reach http://127.0.0.1:{port} within 2 s (Connection "
        "refused); check the address, the network, or MIGRATOR_CONNECT_TIMEOUT")
    assert took < 2 + 5, took  # the timeout, and the start of a Python process
    assert "x" * 36 not in result.stderr + result.stdout


def test_a_connect_timeout_that_is_not_a_number(tmp_path: Path) -> None:
    result = run_cli("run", "output-validation", "--forge", "github", "--state",
                     str(tmp_path / "state"), env=github_env(
                         GITHUB_TOKEN="ghp_" + "x" * 36, MIGRATOR_CONNECT_TIMEOUT="soon"))
    assert one_line(result) == ("migrator: error: MIGRATOR_CONNECT_TIMEOUT must be a "
                                "positive number of seconds, not 'soon'")


def test_a_copy_to_a_closed_port(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=1, corpus_share=0)
    port, token = closed_port(), "f" * 64
    started = time.monotonic()
    result = run_cli("outputs", "copy", "--forge", str(forge.root), "--feedstock",
                     "pkg00000-feedstock", "--url", f"http://127.0.0.1:{port}",
                     "linux-64/pkg00000-1.0-0.conda=" + "0" * 64,
                     env={"FEEDSTOCK_TOKEN": token, "MIGRATOR_CONNECT_TIMEOUT": "1"})
    assert one_line(result) == (f"migrator: error: cannot reach the validation service at "
                                f"http://127.0.0.1:{port} within 1 s (Connection refused)")
    assert time.monotonic() - started < 1 + 5
    assert token not in result.stdout + result.stderr


def test_forge_init_in_or_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("mine\n")
    result = run_cli("forge", "init", str(blocker), "--count", "1")
    assert one_line(result) == (f"python -m testing: error: {blocker} is a file; give a new "
                                "folder for the forge")
    result = run_cli("forge", "init", str(blocker / "forge"), "--count", "1")
    assert one_line(result) == (f"python -m testing: error: {blocker / 'forge'} cannot be "
                                f"created: {blocker} is a file")
    assert blocker.read_text() == "mine\n"
