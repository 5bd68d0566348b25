"""The builtin renderer against real conda-smithy output from the vendored corpus.

Real feedstocks carry a subset of their variant files (two per feedstock in the corpus)
and some were last rendered by older conda-smithy releases that put linux builds on
Azure. So besides rendering each feedstock as stored, the platform-matched tests add a
variant file for every CONFIG the real CI files list and pin each platform to the
provider the real files use; then every real CI file has a rendered counterpart.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from migrator.core.errors import MigratorError
from migrator.feedstock.cfyml import enable_output_validation
from migrator.rerender.builtin import render_feedstock
from migrator.rerender.variants import platform_of

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"
INDEX = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
FULL = sorted(name for name, e in INDEX.items() if "full-render-set" in e["traits"])
VALIDATED = [n for n in FULL if "ci-validate-recipe-outputs" in INDEX[n]["traits"]]
NOT_VALIDATED = [n for n in FULL if n not in VALIDATED]

CI_CONFIG_FILES = (
    ".azure-pipelines/azure-pipelines-linux.yml",
    ".azure-pipelines/azure-pipelines-osx.yml",
    ".azure-pipelines/azure-pipelines-win.yml",
    ".github/workflows/conda-build.yml",
)
SCRIPTS = {  # the script holding the build, validation and upload of each os
    "linux": ".scripts/build_steps.sh",
    "osx": ".scripts/run_osx_build.sh",
    "win": ".scripts/run_win_build.bat",
}
_TOKENS = "BINSTAR_TOKEN|FEEDSTOCK_TOKEN|STAGING_BINSTAR_TOKEN"
_SECRET = re.compile(
    rf"^\s*(?P<n>{_TOKENS}): (\$\((?P=n)\)|\$\{{\{{ secrets\.(?P=n) \}}\}})$"
    rf"|^\s*-e ({_TOKENS}) \\$"
)
_STEP = re.compile(r"^\s*(validate_recipe_outputs|upload_package)\b")


def secret_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if _SECRET.match(line)]


def step_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if _STEP.match(line)]


def corpus_files(name: str) -> dict[str, bytes]:
    files = {path: (CORPUS / name / path).read_bytes() for path in INDEX[name]["files"]}
    if "ci-github-actions-placeholder" in INDEX[name]["traits"]:
        # a disabled workflow that admin migrations add, not a render
        del files[".github/workflows/conda-build.yml"]
    return files


def render_inputs(files: dict[str, bytes]) -> dict[str, bytes]:
    keep = ("conda-forge.yml", "recipe/", ".ci_support/")
    return {path: data for path, data in files.items() if path.startswith(keep)}


def _load(data: bytes) -> Any:
    return YAML(typ="safe", pure=True).load(data.decode())


def _dump(data: Any) -> bytes:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue().encode()


def with_key(config: bytes | None, value: bool) -> bytes:
    data = _load(config or b"{}") or {}
    return _dump({**data, "conda_forge_output_validation": value})


def key_enabled(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files with the key set the way the migration sets it."""
    edited = enable_output_validation(files["conda-forge.yml"].decode())
    assert edited is not None
    return {**files, "conda-forge.yml": edited.encode()}


def real_assignment(files: dict[str, bytes]) -> dict[str, tuple[str, str | None]]:
    """CONFIG -> (provider, docker image) as the real CI files have it."""
    found: dict[str, tuple[str, str | None]] = {}
    for os_ in ("linux", "osx", "win"):
        path = f".azure-pipelines/azure-pipelines-{os_}.yml"
        if path in files:
            matrix = _load(files[path])["jobs"][0]["strategy"]["matrix"]
            for entry in matrix.values():
                found[entry["CONFIG"]] = ("azure", entry.get("DOCKER_IMAGE"))
    path = ".github/workflows/conda-build.yml"
    if path in files:
        strategy = _load(files[path])["jobs"]["build"].get("strategy")
        for entry in (strategy or {}).get("matrix", {}).get("include", []):
            found[entry["CONFIG"]] = ("github_actions", entry.get("DOCKER_IMAGE"))
    return found


def like_real(files: dict[str, bytes]) -> dict[str, bytes]:
    """Render inputs whose variants and providers match the real render's."""
    inputs = render_inputs(files)
    providers: dict[str, set[str]] = {}
    for name, (provider, image) in real_assignment(files).items():
        providers.setdefault(platform_of(name), set()).add(provider)
        path = f".ci_support/{name}.yaml"
        if path not in inputs:
            stub = f"target_platform:\n- {platform_of(name).replace('_', '-')}\n"
            inputs[path] = (stub + (f"docker_image:\n- {image}\n" if image else "")).encode()
    config = _load(inputs.get("conda-forge.yml", b"{}")) or {}
    pinned = dict(config.get("provider") or {})
    pinned.update({platform: used.pop() for platform, used in providers.items() if len(used) == 1})
    inputs["conda-forge.yml"] = _dump({**config, "provider": pinned})
    return inputs


def assert_lines_match(real: dict[str, bytes], rendered: dict[str, bytes]) -> int:
    """Compare the validation-relevant lines file by file; return how many files."""
    compared = 0
    for path in CI_CONFIG_FILES + (".scripts/run_docker_build.sh",):
        if path in real and path in rendered:
            assert secret_lines(rendered[path].decode()) == secret_lines(real[path].decode()), path
            compared += 1
    for os_, path in SCRIPTS.items():
        inline = real.get(f".azure-pipelines/azure-pipelines-{os_}.yml", b"").decode()
        if path not in rendered:
            continue
        ours = step_lines(rendered[path].decode())
        if path in real:
            theirs = real[path].decode()
            if "BUILD_WITH_CONDA_DEBUG" not in theirs:
                # before the debug branch existed the steps were not nested: same commands
                ours, theirs = _stripped(ours), "\n".join(_stripped(theirs.splitlines()))
            assert ours == step_lines(theirs), path
            compared += 1
        elif step_lines(inline):
            # older renders ran the steps inline in the Azure file: same commands
            assert _stripped(ours) == _stripped(step_lines(inline)), path
            compared += 1
    return compared


def _stripped(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines]


def has_validation(rendered: dict[str, bytes]) -> bool:
    text = b"".join(rendered.values())
    return b"validate_recipe_outputs" in text or b"FEEDSTOCK_TOKEN" in text


@pytest.mark.parametrize("name", VALIDATED)
def test_validated_feedstock_as_stored(name: str) -> None:
    files = corpus_files(name)
    traits = INDEX[name]["traits"]
    if "yaml-error" in traits:  # conda-forge.yml as stored cannot be parsed at all
        with pytest.raises(MigratorError, match="^conda-forge.yml is not valid YAML: "):
            render_feedstock(render_inputs(files))
        return
    rendered = render_feedstock(render_inputs(files)).files
    if "ci-validation-without-config-flag" in traits:
        # without the key there is no validation, whatever older files show
        assert not has_validation(rendered)
        files = key_enabled(files)
        rendered = render_feedstock(render_inputs(files)).files
    assert has_validation(rendered)
    assert assert_lines_match(files, rendered) >= 2


@pytest.mark.parametrize(
    "name", [n for n in VALIDATED if "yaml-error" not in INDEX[n]["traits"]]
)
def test_validated_feedstock_with_real_platforms(name: str) -> None:
    files = corpus_files(name)
    if "ci-validation-without-config-flag" in INDEX[name]["traits"]:
        files = key_enabled(files)
    rendered = render_feedstock(like_real(files)).files
    real_ci = [p for p in CI_CONFIG_FILES + tuple(SCRIPTS.values()) if p in files]
    for path in real_ci:
        assert path in rendered, f"{path} exists in the real render but not in ours"
    assert assert_lines_match(files, rendered) >= len(real_ci)


def test_corpus_selection_is_what_the_index_says() -> None:
    # guards the parametrizations against an empty or shrunken corpus
    assert len(FULL) == 41
    assert len(VALIDATED) == 34
    assert NOT_VALIDATED == [
        "abseil-cpp-feedstock", "adept-feedstock", "bison-feedstock", "blas-feedstock",
        "cdo-feedstock", "harfbuzz-feedstock", "pymvpa2-feedstock",
    ]


# What turning the key on changes, file by file: lines added and lines removed.
_GHA_SECRETS = [
    "        FEEDSTOCK_TOKEN: ${{ secrets.FEEDSTOCK_TOKEN }}",
    "        STAGING_BINSTAR_TOKEN: ${{ secrets.STAGING_BINSTAR_TOKEN }}",
]
ADDED = {
    ".azure-pipelines/azure-pipelines-linux.yml": [
        "      FEEDSTOCK_TOKEN: $(FEEDSTOCK_TOKEN)",
        "      STAGING_BINSTAR_TOKEN: $(STAGING_BINSTAR_TOKEN)",
    ],
    ".azure-pipelines/azure-pipelines-osx.yml": [
        "      FEEDSTOCK_TOKEN: $(FEEDSTOCK_TOKEN)",
        "      STAGING_BINSTAR_TOKEN: $(STAGING_BINSTAR_TOKEN)",
    ],
    ".azure-pipelines/azure-pipelines-win.yml": [
        "        FEEDSTOCK_TOKEN: $(FEEDSTOCK_TOKEN)",
        "        STAGING_BINSTAR_TOKEN: $(STAGING_BINSTAR_TOKEN)",
    ],
    ".github/workflows/conda-build.yml": _GHA_SECRETS * 3,  # linux, macOS and windows steps
    ".scripts/run_docker_build.sh": [
        "           -e FEEDSTOCK_TOKEN \\",
        "           -e STAGING_BINSTAR_TOKEN \\",
    ],
    ".scripts/build_steps.sh": [
        '    ( startgroup "Validating outputs" ) 2> /dev/null',
        '    validate_recipe_outputs "${FEEDSTOCK_NAME}"',
        '    ( endgroup "Validating outputs" ) 2> /dev/null',
        "",
        "",
        '        upload_package --validate --feedstock-name="${FEEDSTOCK_NAME}"  '
        '"${FEEDSTOCK_ROOT}" "${RECIPE_ROOT}" "${CONFIG_FILE}"',
    ],
    ".scripts/run_osx_build.sh": [
        '    ( startgroup "Validating outputs" ) 2> /dev/null',
        '    validate_recipe_outputs "${FEEDSTOCK_NAME}"',
        '    ( endgroup "Validating outputs" ) 2> /dev/null',
        "",
        "",
        '      upload_package --validate --feedstock-name="${FEEDSTOCK_NAME}" ./ ./recipe '
        "./.ci_support/${CONFIG}.yaml",
    ],
    ".scripts/run_win_build.bat": [
        "",
        ":: Validate",
        'call :start_group "Validating outputs"',
        'validate_recipe_outputs "%FEEDSTOCK_NAME%"',
        "if !errorlevel! neq 0 exit /b !errorlevel!",
        "call :end_group",
        '        upload_package --validate --feedstock-name="%FEEDSTOCK_NAME%" .\\ ".\\recipe" '
        ".ci_support\\%CONFIG%.yaml",
    ],
}
REMOVED = {
    ".scripts/build_steps.sh": [
        '        upload_package  "${FEEDSTOCK_ROOT}" "${RECIPE_ROOT}" "${CONFIG_FILE}"'
    ],
    ".scripts/run_osx_build.sh": ["      upload_package  ./ ./recipe ./.ci_support/${CONFIG}.yaml"],
    ".scripts/run_win_build.bat": [
        '        upload_package  .\\ ".\\recipe" .ci_support\\%CONFIG%.yaml'
    ],
}
# Full render sets the builtin renderer cannot render, and why.
UNRENDERABLE = {
    "bison-feedstock": r"^\.ci_support is missing or empty: no variant files",
    "blas-feedstock": r"^\.ci_support is missing or empty: no variant files",
    "pymvpa2-feedstock": r"^\.ci_support is missing or empty: no variant files",
    "cdo-feedstock": r"^osx_64 builds on 'circle', which the builtin renderer does not render",
}
SWITCHABLE = [
    n for n in FULL if n not in UNRENDERABLE and "yaml-error" not in INDEX[n]["traits"]
]


def validation_diff(inputs: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    config = inputs.get("conda-forge.yml")
    off = render_feedstock({**inputs, "conda-forge.yml": with_key(config, False)}).files
    on = render_feedstock({**inputs, "conda-forge.yml": with_key(config, True)}).files
    return off, on


@pytest.mark.parametrize("real_platforms", [False, True], ids=["as-stored", "real-platforms"])
@pytest.mark.parametrize("name", SWITCHABLE)
def test_switching_the_key_on_adds_exactly_the_validation_lines(
    name: str, real_platforms: bool
) -> None:
    files = corpus_files(name)
    off, on = validation_diff(like_real(files) if real_platforms else render_inputs(files))
    assert sorted(on) == sorted(off)
    for path in sorted(on):
        before = Counter(off[path].decode().splitlines())
        after = Counter(on[path].decode().splitlines())
        assert after - before == Counter(ADDED.get(path, [])), path
        assert before - after == Counter(REMOVED.get(path, [])), path


def test_switch_cases_cover_every_provider_file() -> None:
    rendered: set[str] = set()
    for name in SWITCHABLE:
        rendered.update(render_feedstock(like_real(corpus_files(name))).files)
    assert rendered >= set(ADDED)


@pytest.mark.parametrize("name", NOT_VALIDATED)
def test_feedstocks_without_validation_as_stored(name: str) -> None:
    inputs = render_inputs(corpus_files(name))
    if name in UNRENDERABLE:
        with pytest.raises(MigratorError, match=UNRENDERABLE[name]):
            render_feedstock(inputs)
        return
    off, on = validation_diff(inputs)
    assert not has_validation(off) and has_validation(on)
