"""What `conda_forge_output_validation: true` changes in rendered CI files, as data.

The facts come from conda-smithy's templates across their history (2020-04 to today)
and from feedstocks rendered by them. Three kinds of edit exist:

- secrets: every place that passes `BINSTAR_TOKEN` to a build also passes
  `FEEDSTOCK_TOKEN` and `STAGING_BINSTAR_TOKEN`. conda-smithy renders one entry per secret
  in sorted order, so the new entries go into the run of entries that starts at the
  `BINSTAR_TOKEN` one, at their sorted places (a feedstock may have extra secrets).
- the validation block: the lines that run `validate_recipe_outputs` sit directly after the
  last non-blank line before the upload section (the templates strip the whitespace in
  front of the block). The block's shape follows the upload section's own shape, which
  tells the template version apart; its indentation is the upload section's.
- the upload line: `upload_package ` gains the `--validate --feedstock-name=...` flag.

Paths here are the repository-relative POSIX paths of rendered files.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_FILE_BYTES = 1 << 20  # rendered CI files are a few kB; anything this big is not one
ANCHOR_SECRET = "BINSTAR_TOKEN"
VALIDATION_SECRETS = ("FEEDSTOCK_TOKEN", "STAGING_BINSTAR_TOKEN")

SH_VALIDATE = 'validate_recipe_outputs "${FEEDSTOCK_NAME}"'
WIN_VALIDATE = 'validate_recipe_outputs "%FEEDSTOCK_NAME%"'
SH_FLAG = '--validate --feedstock-name="${FEEDSTOCK_NAME}"'
WIN_FLAG = '--validate --feedstock-name="%FEEDSTOCK_NAME%"'
# Stands for the errorlevel check that follows `upload_package` in the same file
# (its form changed in 2023-09; the validation block uses the file's own form).
ERRORLEVEL = "{errorlevel}"
ERRORLEVEL_LINES = ("if !errorlevel! neq 0 exit /b !errorlevel!", "if errorlevel 1 exit 1")


class SecretForm(NamedTuple):
    """One secret entry: its lines, stripped, with `{name}` for the secret's name. New
    entries take each line's indentation from the `BINSTAR_TOKEN` entry."""

    lines: tuple[str, ...]


class SecretList(NamedTuple):
    """Secrets written as one flow list on one line (woodpecker)."""

    pattern: re.Pattern[str]  # groups: head, items, tail


class BlockStyle(NamedTuple):
    """One template version's validation block.

    `start` finds the upload section's first line above the `upload_package` line;
    `probe`, when set, must match a line between that start and the line after the
    upload line. `lines` are the block, indented like the start line ("" = blank line).
    """

    name: str
    start: re.Pattern[str]
    probe: re.Pattern[str] | None
    lines: tuple[str, ...]


class FileRule(NamedTuple):
    """The edits one rendered file kind gets, and when to refuse instead."""

    kind: str
    secrets: SecretForm | SecretList | None = None
    # a file that builds (None: always) must carry the secrets anchor and `requires`
    builds: re.Pattern[str] | None = None
    upload_flag: str | None = None
    upload_required: bool = False
    styles: tuple[BlockStyle, ...] = ()
    predecessor: re.Pattern[str] | None = None  # the line the block follows
    requires: tuple[tuple[re.Pattern[str], str], ...] = ()
    refuse_if: tuple[tuple[re.Pattern[str], str], ...] = ()


def _re(text: str) -> re.Pattern[str]:
    return re.compile(text)


_SH_IF = _re(r'^\s*if \[\[ "\$\{UPLOAD_PACKAGES\}" != "False" \]\]')
_SH_STYLES = (
    BlockStyle("groups-subshell", _re(r'^\s*\( startgroup "Uploading packages" \) 2> /dev/null$'),
               None, ('( startgroup "Validating outputs" ) 2> /dev/null', "", SH_VALIDATE, "",
                      '( endgroup "Validating outputs" ) 2> /dev/null')),
    BlockStyle("groups-set-x-subshell",
               _re(r'^\s*\( \{ set \+x; startgroup "Uploading packages"; \} 2> /dev/null \)$'),
               None, ('( { set +x; startgroup "Validating outputs"; } 2> /dev/null )', "",
                      SH_VALIDATE, "",
                      '( { set +x; endgroup "Validating outputs"; } 2> /dev/null )')),
    BlockStyle("groups-set-x",
               _re(r'^\s*\{ set \+x; startgroup "Uploading packages" \} 2> /dev/null$'),
               None, ('{ set +x; startgroup "Validating outputs" } 2> /dev/null', "",
                      SH_VALIDATE, "", '{ set +x; endgroup "Validating outputs" } 2> /dev/null')),
    BlockStyle("groups-inside-if", _SH_IF, _re(r'^\s*startgroup "Uploading packages"$'),
               ('startgroup "Validating outputs"', SH_VALIDATE, 'endgroup "Validating outputs"')),
    BlockStyle("plain", _SH_IF, None, (SH_VALIDATE,)),
)
# The last line of the build (or of its artifact inspection) in every template version.
_SH_BUILD_END = _re(
    r'endgroup "(Inspecting artifacts|Running conda[^"]*)"|--clobber-file|--extra-meta'
    r"|EXTRA_CB_OPTIONS|--suppress-variables|--target-platform|conda(\.exe)? (build|mambabuild) "
    r"|\$BUILD_CMD|rattler-build build"
)

_BAT_START = _re(r'^\s*if /i "%UPLOAD_PACKAGES%" == "true" \($')
_BAT_STYLES = (
    BlockStyle("call-groups", _BAT_START, _re(r'^\s*call :start_group "Uploading packages"$'),
               ('call :start_group "Validating outputs"', WIN_VALIDATE, ERRORLEVEL,
                "call :end_group")),
    BlockStyle("echo", _BAT_START, _re(r"^\s*echo Uploading packages$"),
               ("echo Validating recipe outputs", WIN_VALIDATE, ERRORLEVEL)),
    BlockStyle("echo-quoted", _BAT_START, _re(r'^\s*echo "Uploading packages"$'),
               ('echo "Validating recipe outputs"', WIN_VALIDATE, ERRORLEVEL)),
    BlockStyle("plain", _BAT_START, None, (WIN_VALIDATE, ERRORLEVEL)),
)

# Windows built inside the CI configuration itself (before run_win_build.bat, 2023-09).
_AZURE_WIN_STYLES = (
    BlockStyle("azure-step", _re(r"^\s*- script: \|$"),
               _re(r'^\s*set "FEEDSTOCK_NAME=%BUILD_REPOSITORY_NAME:\*/=%"$'),
               ("- script: |", '    set "FEEDSTOCK_NAME=%BUILD_REPOSITORY_NAME:*/=%"',
                "    call activate base", "    " + WIN_VALIDATE,
                "  displayName: Validate Recipe Outputs")),
)
_GHA_WIN_STYLES = (
    BlockStyle("gha-inline", _BAT_START, None, (WIN_VALIDATE, "if errorlevel 1 exit 1")),
    BlockStyle("gha-inline-first", _re(r'^\s*if %UPLOAD_PACKAGES% == "True" \($'), None,
               (WIN_VALIDATE,)),
)
_APPVEYOR_STYLES = (
    # the block ends the `test_script:` list, whose items are indented by four
    BlockStyle("appveyor", _re(r"^deploy_script:\s*$"), None,
               ('    - set "FEEDSTOCK_NAME=%APPVEYOR_REPO_NAME:*/=%"',
                "    - cmd: " + WIN_VALIDATE)),
)

_RUNS_BUILD = _re(r"run_docker_build\.sh|run_osx_build\.sh|run_win_build\.bat|upload_package")
_AZURE_SECRET = SecretForm(("{name}: $({name})",))
_FEEDSTOCK_NAME_SET = (_re(r"FEEDSTOCK_NAME="),
                       "does not set FEEDSTOCK_NAME (rendered before conda-smithy 2020-05)")

RULES: dict[str, FileRule] = {
    ".scripts/build_steps.sh": FileRule(
        "linux build script", upload_flag=SH_FLAG + " ", upload_required=True,
        styles=_SH_STYLES, predecessor=_SH_BUILD_END),
    ".scripts/run_osx_build.sh": FileRule(
        "osx build script", upload_flag=SH_FLAG, upload_required=True,
        styles=_SH_STYLES, predecessor=_SH_BUILD_END),
    ".scripts/run_win_build.bat": FileRule(
        "windows build script", upload_flag=WIN_FLAG, upload_required=True,
        styles=_BAT_STYLES, predecessor=_re(r"^:: Validate$")),
    ".scripts/run_docker_build.sh": FileRule(
        "docker launcher", secrets=SecretForm(("-e {name} \\",)),
        requires=((_re(r"^\s*-e FEEDSTOCK_NAME \\$"),
                   "does not pass FEEDSTOCK_NAME into the container (rendered before "
                   "conda-smithy 2020-06)"),)),
    ".azure-pipelines/azure-pipelines-linux.yml": FileRule(
        "azure linux jobs", secrets=_AZURE_SECRET, builds=_RUNS_BUILD,
        requires=(_FEEDSTOCK_NAME_SET,)),
    ".azure-pipelines/azure-pipelines-osx.yml": FileRule(
        "azure osx jobs", secrets=_AZURE_SECRET, builds=_RUNS_BUILD,
        requires=(_FEEDSTOCK_NAME_SET,),
        refuse_if=((_re(r"^\s*upload_package "),
                    "uploads from the pipeline itself instead of .scripts/run_osx_build.sh "
                    "(rendered before conda-smithy 2020-04)"),)),
    ".azure-pipelines/azure-pipelines-win.yml": FileRule(
        "azure windows jobs", secrets=_AZURE_SECRET, builds=_RUNS_BUILD,
        upload_flag=WIN_FLAG, styles=_AZURE_WIN_STYLES),
    ".github/workflows/conda-build.yml": FileRule(
        "github actions jobs", secrets=SecretForm(("{name}: ${{ secrets.{name} }}",)),
        builds=_RUNS_BUILD, upload_flag=WIN_FLAG, styles=_GHA_WIN_STYLES),
    ".drone.yml": FileRule(
        "drone pipelines", secrets=SecretForm(("{name}:", "from_secret: {name}")),
        builds=_re(r"build_steps\.sh")),
    ".woodpecker.yml": FileRule(
        "woodpecker pipeline",
        secrets=SecretList(_re(r"^(?P<head>\s*secrets:\s*\[\s*)(?P<items>[^\]]*?)"
                               r"(?P<tail>\s*\]\s*)$")),
        builds=_re(r"build_steps\.sh")),
    ".appveyor.yml": FileRule(
        "appveyor jobs", upload_flag=WIN_FLAG, upload_required=True,
        styles=_APPVEYOR_STYLES, predecessor=_re(r"^\s*- (cmd: )?conda\.exe build "),
        requires=(_FEEDSTOCK_NAME_SET,)),
}
RULES["appveyor.yml"] = RULES[".appveyor.yml"]

# Build scripts in the places conda-smithy used before `.scripts/` (2019 and older).
LEGACY_SCRIPTS = re.compile(
    r"^(\.azure-pipelines|\.circleci|\.travis|\.drone|ci_support)/"
    r"(build_steps\.sh|run_docker_build\.sh|run_osx_build\.sh)$"
)

# What conda-smithy renders for CI (the set a rerender commit may touch), and what else
# a full conda-smithy rerender owns besides it.
CI_PREFIXES = (".azure-pipelines/", ".github/workflows/", ".scripts/", ".ci_support/",
               ".circleci/")
CI_FILES = frozenset({".drone.yml", ".woodpecker.yml", "azure-pipelines.yml", ".travis.yml",
                      ".appveyor.yml", "appveyor.yml"})
SMITHY_PREFIXES = (".drone/", ".travis/", "ci_support/")
SMITHY_FILES = frozenset({
    "README.md", "build-locally.py", ".gitattributes", ".gitignore", "LICENSE.txt", "LICENSE",
    "pixi.toml", ".github/CODEOWNERS", ".github/CONTRIBUTING.md", ".github/ISSUE_TEMPLATE.md",
    ".github/PULL_REQUEST_TEMPLATE.md", "circle.yml", "disabled_appveyor.yml",
})

_SECRET_NAMES = "|".join(VALIDATION_SECRETS)
# Whole lines (stripped) that a validation edit adds; `WEAK` ones only count next to others.
SECRET_LINE = re.compile(
    rf"^(?:(?P<a>{_SECRET_NAMES}): \$\((?P=a)\)"
    rf"|(?P<g>{_SECRET_NAMES}): \$\{{\{{ secrets\.(?P=g) \}}\}}"
    rf"|-e (?:{_SECRET_NAMES}) \\|(?:{_SECRET_NAMES}):|from_secret: (?:{_SECRET_NAMES}))$"
)
WEAK_LINES = frozenset({"", "call :end_group", "- script: |", "call activate base",
                        '- set "FEEDSTOCK_NAME=%APPVEYOR_REPO_NAME:*/=%"',
                        'set "FEEDSTOCK_NAME=%BUILD_REPOSITORY_NAME:*/=%"', *ERRORLEVEL_LINES})
BLOCK_LINES = frozenset(
    line.strip()
    for rule in RULES.values() for style in rule.styles for line in style.lines
    if line != ERRORLEVEL
) | WEAK_LINES
# Files rendered before 2020-05 have one space after `upload_package`, later ones two.
UPLOAD_FLAGS = (SH_FLAG + " ", SH_FLAG, WIN_FLAG + " ", WIN_FLAG)
