"""Properties of the rendered files: they parse, secrets reach every build step, and the
output does not depend on the process (hash seeds, input order)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from migrator.rerender.builtin import render_feedstock

VARIANTS = {
    ".ci_support/linux_64_.yaml": b"docker_image:\n- quay.io/condaforge/linux-anvil-x86_64:alma9\n",
    ".ci_support/linux_aarch64_.yaml": b"target_platform:\n- linux-aarch64\n",
    ".ci_support/osx_64_.yaml": b"target_platform:\n- osx-64\n",
    ".ci_support/osx_arm64_.yaml": b"target_platform:\n- osx-arm64\n",
    ".ci_support/win_64_.yaml": b"target_platform:\n- win-64\n",
}
RECIPES = {
    "meta.yaml": b'{% set name = "combo" %}\npackage:\n  name: {{ name }}\n',
    "recipe.yaml": b"context:\n  name: combo\npackage:\n  name: ${{ name }}\n",
}
OPTIONS = {
    "validation": ["conda_forge_output_validation: true\n", ""],
    "tools": ["", "conda_install_tool: pixi\n", "conda_build_tool: rattler-build\n"],
    "test": ["", "test: native\n", "test: native_and_emulated\n"],
    "extras": [
        "",
        "upload_on_branch: main\nprivate_upload: true\nsecrets: [EXTRA_TOKEN]\n"
        "azure:\n  settings_win:\n    variables:\n      SET_PAGEFILE: 'True'\n",
    ],
    "providers": ["", "provider:\n  linux: azure\n  osx: github_actions\n  win: github_actions\n"],
}
COMBINATIONS = list(itertools.product(*OPTIONS.values()))
VALIDATION_SECRETS = {"FEEDSTOCK_TOKEN", "STAGING_BINSTAR_TOKEN"}


def render(config: str, recipe: str = "meta.yaml") -> dict[str, bytes]:
    files = {"conda-forge.yml": config.encode(), f"recipe/{recipe}": RECIPES[recipe], **VARIANTS}
    return render_feedstock(files).files


def _yaml(data: bytes) -> Any:
    return YAML(typ="safe", pure=True).load(data.decode())


def secrets_by_step(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """For every build step of every CI file: the secret-looking env entries it sets."""
    found = {}
    for path, data in files.items():
        if path.startswith(".azure-pipelines/"):
            steps = _yaml(data)["jobs"][0]["steps"]
            found[path] = steps[-1]["env"]
        elif path == ".github/workflows/conda-build.yml":
            for step in _yaml(data)["jobs"]["build"]["steps"]:
                if step.get("id", "").startswith("build-"):
                    found[f"{path}#{step['id']}"] = step["env"]
    return {
        step: {k: v for k, v in env.items() if k.endswith("_TOKEN")}
        for step, env in found.items()
    }


@pytest.mark.parametrize("options", COMBINATIONS, ids=lambda o: str(COMBINATIONS.index(o)))
def test_secrets_reach_every_build_step(options: tuple[str, ...]) -> None:
    config = "".join(options)
    validation = config.startswith("conda_forge_output_validation")
    files = render(config, "recipe.yaml" if "rattler" in config else "meta.yaml")
    steps = secrets_by_step(files)
    assert len(steps) >= 3  # every provider in use has its build steps
    for step, env in steps.items():
        expected = {"BINSTAR_TOKEN"} | (VALIDATION_SECRETS if validation else set())
        expected |= {"EXTRA_TOKEN"} if "EXTRA_TOKEN" in config else set()
        assert set(env) == expected, step
        style = "${{ secrets.%s }}" if "#" in step else "$(%s)"
        assert env == {name: style % name for name in expected}, step
    scripts = b"".join(data for path, data in files.items() if path.startswith(".scripts/"))
    assert scripts.count(b"validate_recipe_outputs") == (3 if validation else 0)
    assert scripts.count(b"upload_package --validate --feedstock-name=") == (
        3 if validation else 0)
    assert scripts.count(b"upload_package ") == 3
    for path, data in files.items():
        if path.endswith(".yml"):
            assert isinstance(_yaml(data), dict), path


def test_rendered_shell_scripts_parse(tmp_path: Path) -> None:
    scripts = {}
    for options in COMBINATIONS:
        for path, data in render("".join(options)).items():
            if path.endswith(".sh"):
                scripts[data] = path
    assert len(scripts) >= 10
    for index, (data, path) in enumerate(sorted(scripts.items())):
        script = tmp_path / f"{index}-{Path(path).name}"
        script.write_bytes(data)
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, (path, check.stderr)


_DIGEST = """
import hashlib, json, pathlib
from migrator.core.errors import MigratorError
from migrator.rerender.builtin import render_feedstock
from migrator.rerender.workdir import read_inputs
corpus = pathlib.Path("testing/corpus/feedstocks")
digest = hashlib.sha256()
for entry in json.loads((corpus / "INDEX.json").read_text()):
    if "full-render-set" not in entry["traits"]:
        continue
    try:
        files = render_feedstock(read_inputs(corpus / entry["feedstock"])).files
    except MigratorError as exc:
        files = {"error": str(exc).encode()}
    for path, data in files.items():
        digest.update(path.encode() + b"\\0" + data + b"\\0")
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_the_hash_seed() -> None:
    root = Path(__file__).resolve().parents[1]
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _DIGEST], cwd=root, env=env,
                             capture_output=True, text=True, check=True)
        digests.add(run.stdout.strip())
    assert len(digests) == 1 and len(digests.pop()) == 64
