"""The parts of conda-forge.yml that shape the rendered CI files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from migrator.feedstock.yamlload import load_yaml
from migrator.rerender.refused import RenderError

KEY = "conda_forge_output_validation"
DEFAULT_REMOTE_CI_SETUP = ("conda-forge-ci-setup=4", "conda-build>=24.1")
TEST_MODES = ("native", "native_and_emulated", "all", "none")
# Values that end up inside generated shell, cmd and YAML: anything else is refused
# rather than quoted, as those files run with the feedstock's secrets.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATHLIKE = re.compile(r"^[A-Za-z0-9._/-]+$")
_SPEC = re.compile(r"^[A-Za-z0-9_.=<>!*,:/@+ ~-]+$")


class Settings(NamedTuple):
    output_validation: bool
    providers: Mapping[str, Any]  # raw `provider:` values, keyed by os or platform
    build_platform: Mapping[str, str]
    build_tool: str | None  # None: decided by the recipe format
    install_tool: str  # "micromamba" or "pixi"
    test: str | None
    upload_on_branch: str | None
    private_upload: bool
    extra_secrets: tuple[str, ...]
    recipe_dir: str
    branch: str
    org: str
    repo_name: str | None
    skip_render: tuple[str, ...]
    remote_ci_setup: tuple[str, ...]
    azure: Mapping[str, Any]
    github_actions: Mapping[str, Any]


def read_settings(text: str | None) -> Settings:
    """Parse conda-forge.yml (None when the file is absent)."""
    data = {} if text is None else load_yaml(text, what="conda-forge.yml")
    if data is None or data == []:
        data = {}  # conda-forge writes "empty" files as [] or {}
    if not isinstance(data, dict):
        raise RenderError(
            f"conda-forge.yml must hold a mapping at the top level, found {type(data).__name__}"
        )
    github = _mapping(data, "github")
    return Settings(
        output_validation=data.get(KEY) is True,
        providers=_mapping(data, "provider"),
        build_platform={str(k): str(v) for k, v in _mapping(data, "build_platform").items()},
        build_tool=_build_tool(data.get("conda_build_tool")),
        install_tool="pixi" if data.get("conda_install_tool") == "pixi" else "micromamba",
        test=_choice(data, "test", TEST_MODES),
        upload_on_branch=_checked(data.get("upload_on_branch"), _PATHLIKE, "upload_on_branch"),
        private_upload=data.get("private_upload") is True,
        extra_secrets=_names(data, "secrets", _ENV_NAME),
        recipe_dir=_recipe_dir(data.get("recipe_dir")),
        branch=_checked(github.get("branch_name"), _PATHLIKE, "github.branch_name") or "main",
        org=_checked(github.get("user_or_org"), _PATHLIKE, "github.user_or_org") or "conda-forge",
        repo_name=_checked(github.get("repo_name"), _PATHLIKE, "github.repo_name"),
        skip_render=_names(data, "skip_render"),
        remote_ci_setup=_names(data, "remote_ci_setup", _SPEC) or DEFAULT_REMOTE_CI_SETUP,
        azure=_mapping(data, "azure"),
        github_actions=_mapping(data, "github_actions"),
    )


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RenderError(f"conda-forge.yml: {key} must be a mapping, found {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _checked(value: Any, pattern: re.Pattern[str], key: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if not pattern.match(text):
        raise RenderError(f"conda-forge.yml: {key} has characters a CI file cannot hold: {text!r}")
    return text


def _choice(data: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if value not in choices:
        raise RenderError(
            f"conda-forge.yml: {key} is {value!r}; expected one of {', '.join(choices)}"
        )
    return str(value)


def _build_tool(value: Any) -> str | None:
    if value is None:
        return None
    # the conda-build flavours (solver choices, mambabuild) render the same CI lines
    return "rattler-build" if value == "rattler-build" else "conda-build"


def _names(
    data: Mapping[str, Any], key: str, pattern: re.Pattern[str] | None = None
) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RenderError(f"conda-forge.yml: {key} must be a list of strings")
    if pattern is not None:
        for item in value:
            _checked(item, pattern, key)
    return tuple(value)


def _recipe_dir(value: Any) -> str:
    text = str(value) if value else "recipe"
    parts = text.strip("/").split("/")
    if text.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise RenderError(f"conda-forge.yml: recipe_dir {text!r} must be a relative path")
    _checked(text, _PATHLIKE, "recipe_dir")
    return "/".join(parts)
