"""The validation patch against feedstocks real conda-smithy rendered.

Feedstocks whose conda-forge.yml turns validation on carry the validation lines as the
real tool wrote them: taking them out (`unpatch`) and patching again must give back the
same bytes, file by file. Feedstocks without the key are patched as they are. Every diff
the patch makes is checked twice: by the guard and by an independent line check here.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.rerender.guard import check_rerender
from migrator.rerender.patch import PatchResult, ci_files_of, validation_patch
from testing.unpatch import unpatch

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"
INDEX = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
FULL = sorted(name for name, e in INDEX.items() if "full-render-set" in e["traits"])
_KEY = re.compile(rb"^conda_forge_output_validation:[ \t]*true\b", re.M)


def corpus_files(name: str) -> dict[str, bytes]:
    return {path: (CORPUS / name / path).read_bytes() for path in INDEX[name]["files"]}


def has_key(name: str) -> bool:
    """Read as text: two of these files (a duplicate key, a bad escape) are not valid YAML
    but still say it."""
    return _KEY.search((CORPUS / name / "conda-forge.yml").read_bytes()) is not None


KEYED = [name for name in FULL if has_key(name)]
UNKEYED = [name for name in FULL if not has_key(name)]

# Feedstocks with the key that do not round-trip, each with the refusal it must get.
NOT_ROUND_TRIPPED = {
    "adept-feedstock": (  # key set, CI never rerendered for it: a 2020 layout
        ".azure-pipelines/azure-pipelines-linux.yml: does not set FEEDSTOCK_NAME"),
    "pymvpa2-feedstock": (  # only placeholder CI files: no build script to patch
        "no rendered build script with an 'upload_package' line among "
        ".circleci/config.yml, .github/workflows/conda-build.yml"),
}

# Independent of the patch's rules: what a validation edit may add, line by line.
_NAMES = "FEEDSTOCK_TOKEN|STAGING_BINSTAR_TOKEN"
_ADDED = re.compile(
    rf"^\s*(({_NAMES}): (\$\(\2\)|\$\{{\{{ secrets\.\2 \}}\}})|({_NAMES}):|-e ({_NAMES}) \\"
    rf"|from_secret: ({_NAMES})|(- cmd: )?validate_recipe_outputs \S+"
    r"|.*\b(startgroup|endgroup|start_group)\b.*\"Validating outputs\".*"
    r"|call :end_group|if !errorlevel! neq 0 exit /b !errorlevel!|if errorlevel 1 exit 1"
    r"|echo \"?Validating recipe outputs\"?|- script: \||call activate base"
    r"|(- )?set \"FEEDSTOCK_NAME=%[A-Z_]+:\*/=%\"|displayName: Validate Recipe Outputs|)$"
)
_FLAG = re.compile(r'--validate --feedstock-name="(\$\{FEEDSTOCK_NAME\}|%FEEDSTOCK_NAME%)" ?')
_LISTED = re.compile(rf", ({_NAMES})\b")
_MARKER = re.compile(rf"{_NAMES}|validate_recipe_outputs|--validate|Validating|Validate Recipe")


def validation_only(before: bytes, after: bytes) -> list[str]:
    """The lines of the diff that are not a validation edit (empty when all are)."""
    diff = list(difflib.ndiff(before.decode().splitlines(), after.decode().splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    wrong = []
    for line in removed:
        flagged = [a for a in added if _FLAG.sub("", a, count=1) in (line, line.replace(
            "upload_package  ", "upload_package ", 1)) or _LISTED.sub("", a) == line]
        if not flagged:
            wrong.append("- " + line)
        else:
            added.remove(flagged[0])
    wrong.extend("+ " + line for line in added if not _ADDED.match(line))
    return wrong


def assert_minimal(before: dict[str, bytes], result: PatchResult) -> None:
    after = {**before, **result.changed}
    verdict = check_rerender(before, after)
    assert verdict.ok, verdict.reason
    assert verdict.files == len(result.changed)
    for path, data in result.changed.items():
        assert path in ci_files_of(before)
        assert validation_only(before[path], data) == [], path


@pytest.mark.parametrize("name", KEYED)
def test_unpatch_then_patch_gives_back_the_real_files(name: str) -> None:
    files = corpus_files(name)
    plain = unpatch(files)
    result = validation_patch(plain)
    if name in NOT_ROUND_TRIPPED:
        assert result.changed == {}
        assert result.refusal is not None and NOT_ROUND_TRIPPED[name] in result.refusal
        return
    for path in ci_files_of(plain):
        assert not _MARKER.search(plain[path].decode()), f"{path} kept a validation line"
        if _MARKER.search(files[path].decode()):
            assert plain[path] != files[path], path
    assert result.refusal is None
    assert result.changed, "validation removed but nothing put back"
    for path in files:
        assert result.changed.get(path, plain[path]) == files[path], path
    assert_minimal(plain, result)


@pytest.mark.parametrize("name", [n for n in KEYED if n not in NOT_ROUND_TRIPPED])
def test_a_feedstock_that_already_validates_is_left_alone(name: str) -> None:
    assert validation_patch(corpus_files(name)) == PatchResult({}, None)


@pytest.mark.parametrize("name", UNKEYED)
def test_without_the_key_the_patch_is_minimal_or_refused_naming_the_file(name: str) -> None:
    files = corpus_files(name)
    result = validation_patch(files)
    if result.refusal is None:
        assert_minimal(files, result)
        return
    assert result.changed == {}
    for reason in result.refusal.split("; "):
        named = [path for path in files if reason.startswith(path + ": ")
                 or (reason.startswith("no rendered build script") and path in reason)]
        assert named, reason


def test_counts_over_the_corpus() -> None:
    assert (len(FULL), len(KEYED)) == (41, 35)
    assert "qt-feedstock" in KEYED and "amplpy-feedstock" in KEYED  # invalid YAML, key set
    assert len([n for n in KEYED if n not in NOT_ROUND_TRIPPED]) == 33
    refused = {n: validation_patch(corpus_files(n)).refusal for n in UNKEYED}
    # the one without the key that is not refused already validates (the key was dropped)
    assert [n for n, refusal in refused.items() if refusal is None] == ["fastlowess-feedstock"]
    assert validation_patch(corpus_files("fastlowess-feedstock")).changed == {}
    assert sorted(refused) == ["abseil-cpp-feedstock", "bison-feedstock", "blas-feedstock",
                               "cdo-feedstock", "fastlowess-feedstock", "harfbuzz-feedstock"]
    assert "FEEDSTOCK_NAME" in (refused["abseil-cpp-feedstock"] or "")
    assert "before .scripts/" in (refused["cdo-feedstock"] or "")


# Layouts of older conda-smithy releases (rendered output, validation off -> on) that the
# corpus does not hold; each is the upload section as that release rendered it.
_OLD_LAYOUTS = {  # path, text with @BLOCK@ and @FLAG@, the block, the flag
    "2020-12 groups inside the if": (
        ".scripts/build_steps.sh",
        '    conda build "${RECIPE_ROOT}" -m "${CI_SUPPORT}/${CONFIG}.yaml" \\\n'
        '        --clobber-file "${CI_SUPPORT}/clobber_${CONFIG}.yaml"\n'
        '    endgroup "Running conda build"\n@BLOCK@\n'
        '    if [[ "${UPLOAD_PACKAGES}" != "False" ]]; then\n'
        '        startgroup "Uploading packages"\n'
        '        upload_package @FLAG@ "${FEEDSTOCK_ROOT}" "${RECIPE_ROOT}" "${CONFIG_FILE}"\n'
        '        endgroup "Uploading packages"\n'
        "    fi\n",
        '    startgroup "Validating outputs"\n'
        '    validate_recipe_outputs "${FEEDSTOCK_NAME}"\n'
        '    endgroup "Validating outputs"\n',
        '--validate --feedstock-name="${FEEDSTOCK_NAME}" '),
    "2021-03 set +x groups": (
        ".scripts/run_osx_build.sh",
        "conda $BUILD_CMD ./recipe -m ./.ci_support/${CONFIG}.yaml ${EXTRA_CB_OPTIONS:-}\n"
        "@BLOCK@\n"
        '{ set +x; startgroup "Uploading packages" } 2> /dev/null\n\n'
        'if [[ "${UPLOAD_PACKAGES}" != "False" ]]; then\n'
        "  upload_package @FLAG@ ./ ./recipe ./.ci_support/${CONFIG}.yaml\n"
        "fi\n",
        '{ set +x; startgroup "Validating outputs" } 2> /dev/null\n\n'
        'validate_recipe_outputs "${FEEDSTOCK_NAME}"\n\n'
        '{ set +x; endgroup "Validating outputs" } 2> /dev/null\n',
        '--validate --feedstock-name="${FEEDSTOCK_NAME}"'),
    "2023-09 windows script with echo": (
        ".scripts/run_win_build.bat",
        ":: Validate\n@BLOCK@\n"
        'if /i "%UPLOAD_PACKAGES%" == "true" (\n'
        '    if /i "%IS_PR_BUILD%" == "false" (\n'
        "        echo Uploading packages\n"
        '        upload_package @FLAG@ .\\ ".\\recipe" .ci_support\\%CONFIG%.yaml\n'
        "        if errorlevel 1 exit 1\n    )\n)\n",
        "echo Validating recipe outputs\n"
        'validate_recipe_outputs "%FEEDSTOCK_NAME%"\nif errorlevel 1 exit 1\n',
        '--validate --feedstock-name="%FEEDSTOCK_NAME%"'),
    "2022 windows inside github actions": (
        ".github/workflows/conda-build.yml",
        "        if errorlevel 1 exit 1\n"
        '        set "FEEDSTOCK_NAME=%GITHUB_REPOSITORY:*/=%"\n'
        "        )\n@BLOCK@"
        '        if /i "%UPLOAD_PACKAGES%" == "true" (\n'
        '          if /i "%IS_PR_BUILD%" == "false" (\n'
        '            upload_package @FLAG@ .\\ ".\\recipe" .ci_support\\%CONFIG%.yaml\n'
        "          )\n        )\n      env:\n"
        "        BINSTAR_TOKEN: ${{ secrets.BINSTAR_TOKEN }}\n@SECRETS@",
        '        validate_recipe_outputs "%FEEDSTOCK_NAME%"\n        if errorlevel 1 exit 1\n',
        '--validate --feedstock-name="%FEEDSTOCK_NAME%"'),
    "2020-06 appveyor": (
        ".appveyor.yml",
        "test_script:\n"
        "    - cmd: conda.exe build recipe -m .ci_support\\%CONFIG%.yaml\n@BLOCK@"
        "deploy_script:\n"
        '    - set "GIT_BRANCH=%APPVEYOR_REPO_BRANCH%"\n'
        '    - set "FEEDSTOCK_NAME=%APPVEYOR_REPO_NAME:*/=%"\n'
        "    - cmd: upload_package @FLAG@ .\\ .\\recipe .ci_support\\%CONFIG%.yaml\n",
        '    - set "FEEDSTOCK_NAME=%APPVEYOR_REPO_NAME:*/=%"\n'
        '    - cmd: validate_recipe_outputs "%FEEDSTOCK_NAME%"\n',
        '--validate --feedstock-name="%FEEDSTOCK_NAME%"'),
}
_GHA_SECRETS = ("        FEEDSTOCK_TOKEN: ${{ secrets.FEEDSTOCK_TOKEN }}\n"
                "        STAGING_BINSTAR_TOKEN: ${{ secrets.STAGING_BINSTAR_TOKEN }}\n")


@pytest.mark.parametrize("layout", sorted(_OLD_LAYOUTS))
def test_older_layouts_get_the_lines_their_release_rendered(layout: str) -> None:
    path, text, block, flag = _OLD_LAYOUTS[layout]
    off = text.replace("@BLOCK@", "").replace("@FLAG@", "").replace("@SECRETS@", "")
    on = text.replace("@BLOCK@", block).replace("@FLAG@", flag).replace("@SECRETS@", _GHA_SECRETS)
    result = validation_patch({path: off.encode()})
    assert result == PatchResult({path: on.encode()}, None)
    assert unpatch({path: on.encode()})[path] == off.encode()
    assert_minimal({path: off.encode()}, result)


def _numpy() -> dict[str, bytes]:
    return unpatch(corpus_files("numpy-feedstock"))


def test_crlf_scripts_stay_crlf() -> None:
    path = ".scripts/run_win_build.bat"
    real = corpus_files("numpy-feedstock")[path].replace(b"\n", b"\r\n")
    plain = unpatch({path: real})
    assert b"validate_recipe_outputs" not in plain[path]
    assert validation_patch(plain).changed == {path: real}


def test_bytes_that_are_not_utf8_survive() -> None:
    path = ".scripts/build_steps.sh"
    plain = _numpy()[path].replace(b"# -*- mode", b"# \xff\xfe -*- mode", 1)
    changed = validation_patch({path: plain}).changed[path]
    assert b"# \xff\xfe -*- mode" in changed and b"validate_recipe_outputs" in changed


def test_custom_secrets_keep_the_sorted_order_conda_smithy_renders() -> None:
    path = ".azure-pipelines/azure-pipelines-osx.yml"
    plain = _numpy()[path].replace(
        b"      BINSTAR_TOKEN: $(BINSTAR_TOKEN)\n",
        b"      AWS_KEY: $(AWS_KEY)\n      BINSTAR_TOKEN: $(BINSTAR_TOKEN)\n"
        b"      GH_TOKEN: $(GH_TOKEN)\n")
    changed = validation_patch({**_numpy(), path: plain}).changed[path].decode()
    names = re.findall(r"^      ([A-Z_]+): \$\(\1\)$", changed, re.M)
    assert names == ["AWS_KEY", "BINSTAR_TOKEN", "FEEDSTOCK_TOKEN", "GH_TOKEN",
                     "STAGING_BINSTAR_TOKEN"]


def test_woodpecker_secrets_list() -> None:
    text = ("pipeline:\n  build:\n    commands:\n"
            "      - /opt/docker/bin/entrypoint $FEEDSTOCK_ROOT/.scripts/build_steps.sh\n"
            "    secrets: [ BINSTAR_TOKEN, GH_TOKEN ]\n")
    files = {**_numpy(), ".woodpecker.yml": text.encode()}
    result = validation_patch(files)
    assert result.changed[".woodpecker.yml"].decode().endswith(
        "    secrets: [ BINSTAR_TOKEN, FEEDSTOCK_TOKEN, GH_TOKEN, STAGING_BINSTAR_TOKEN ]\n")
    assert_minimal(files, result)


@pytest.mark.parametrize("path, edit, reason", [
    (".scripts/build_steps.sh", lambda t: re.sub(r"(?m)^.*upload_package .*\n", "", t),
     ".scripts/build_steps.sh: no 'upload_package' line"),
    (".scripts/build_steps.sh", lambda t: t.replace("( startgroup \"Uploading packages\" )",
                                                    "( startgroup \"Upload\" )").replace(
        'if [[ "${UPLOAD_PACKAGES}" != "False" ]]', 'if [[ -n "${UPLOAD}" ]]'),
     ".scripts/build_steps.sh: no recognised upload section above the 'upload_package' line"),
    (".scripts/build_steps.sh", lambda t: t.replace(
        '    ( startgroup "Uploading packages" )', '    echo hi\n\n    ( startgroup "Uploading '
        'packages" )'), "before the upload section is not the end of a build step: 'echo hi'"),
    (".azure-pipelines/azure-pipelines-win.yml",
     lambda t: t.replace("BINSTAR_TOKEN: $(BINSTAR_TOKEN)", "TOKEN: $(TOKEN)"),
     ".azure-pipelines/azure-pipelines-win.yml: no 'BINSTAR_TOKEN' secret entry"),
    (".scripts/run_win_build.bat", lambda t: t.replace(":: Validate", ":: Check"),
     "before the upload section is not the end of a build step: ':: Check'"),
    (".scripts/run_docker_build.sh", lambda t: t.replace("-e FEEDSTOCK_NAME \\\n", ""),
     ".scripts/run_docker_build.sh: does not pass FEEDSTOCK_NAME into the container"),
])
def test_an_unrecognised_layout_is_refused_naming_file_and_anchor(
        path: str, edit: Callable[[str], str], reason: str) -> None:
    files = _numpy()
    files[path] = edit(files[path].decode()).encode()
    result = validation_patch(files)
    assert result.changed == {}
    assert result.refusal is not None and reason in result.refusal


def test_a_file_too_large_to_be_rendered_ci_is_refused() -> None:
    files = _numpy()
    files[".scripts/build_steps.sh"] += b"# padding\n" * 120_000
    assert validation_patch(files).refusal == (
        ".scripts/build_steps.sh: larger than 1048576 bytes")
