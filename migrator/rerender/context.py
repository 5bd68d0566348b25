"""The values the CI templates are rendered with."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from migrator.feedstock.recipe import Recipe
from migrator.rerender.jobs import Plan
from migrator.rerender.refused import RenderError
from migrator.rerender.settings import Settings

# The secrets every build gets, and the two output validation adds.
UPLOAD_SECRETS = ("BINSTAR_TOKEN",)
VALIDATION_SECRETS = ("FEEDSTOCK_TOKEN", "STAGING_BINSTAR_TOKEN")
_DEFAULT_TIMEOUT = 360
_AZURE_DEFAULT_VARIABLES = {"win": {"UPLOAD_TEMP": "D:\\\\tmp"}}
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def template_context(*, settings: Settings, recipe: Recipe, plan: Plan) -> dict[str, Any]:
    build_tool = settings.build_tool or (
        "rattler-build" if recipe.path.endswith("/recipe.yaml") else "conda-build"
    )
    secrets = {*UPLOAD_SECRETS, *settings.extra_secrets}
    if settings.output_validation:
        secrets.update(VALIDATION_SECRETS)
    repo = settings.repo_name or f"{recipe.feedstock_name}-feedstock"
    return {
        "feedstock": {
            "name": recipe.feedstock_name, "repo": repo, "org": settings.org,
            "branch": settings.branch,
        },
        "recipe": recipe._asdict() | {"about": _about(recipe.about)},
        "recipe_dir": settings.recipe_dir,
        "validation": settings.output_validation,
        "private_upload": settings.private_upload,
        "secrets": sorted(secrets),
        "build_tool": build_tool,
        "install_tool": settings.install_tool,
        "test": settings.test,
        "skip_tests": "--test skip" if build_tool == "rattler-build" else "--no-test",
        "upload_on_branch": settings.upload_on_branch,
        "remote_ci_setup": list(settings.remote_ci_setup),
        "azure": {
            os_: _azure_os(os_, jobs, settings.azure) for os_, jobs in plan.azure.items()
        },
        "azure_badge": _azure_badge(settings, repo),
        "github_actions": _github_actions(plan, settings) if plan.github_actions else None,
    }


def _about(about: Mapping[str, str]) -> dict[str, str]:
    return {key: about.get(key, "") for key in ("home", "license", "summary", "dev_url", "doc_url")}


def _azure_os(os_: str, jobs: tuple[Any, ...], azure: Mapping[str, Any]) -> dict[str, Any]:
    settings = azure.get(f"settings_{os_}")
    settings = settings if isinstance(settings, dict) else {}
    variables = dict(_AZURE_DEFAULT_VARIABLES.get(os_, {}))
    if isinstance(settings.get("variables"), dict):
        for key, value in settings["variables"].items():
            if not _VARIABLE.match(str(key)):
                raise RenderError(f"conda-forge.yml: azure variable {key!r} is not a name")
            variables[str(key)] = _scalar(value)
    timeout = settings.get("timeoutInMinutes", azure.get("timeout_minutes"))
    return {
        "jobs": jobs,
        "timeout": timeout if isinstance(timeout, int) else _DEFAULT_TIMEOUT,
        "variables": sorted(variables.items()),
    }


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar


def _azure_badge(settings: Settings, repo: str) -> dict[str, str]:
    org = str(settings.azure.get("user_or_org") or settings.org)
    project = str(settings.azure.get("project_name") or "feedstock-builds")
    base = f"https://dev.azure.com/{org}/{project}"
    build_id = settings.azure.get("build_id")
    link = f"{base}/_build/latest?definitionId={build_id}&branchName={settings.branch}"
    return {
        "link": link if build_id is not None else f"{base}/_build?definitionScope=%5C{repo}",
        "image": f"{base}/_apis/build/status/{repo}?branchName={settings.branch}",
    }


def _github_actions(plan: Plan, settings: Settings) -> dict[str, Any]:
    timeout = settings.github_actions.get("timeout_minutes")
    return {
        "jobs": plan.github_actions,
        "timeout": timeout if isinstance(timeout, int) else _DEFAULT_TIMEOUT,
        "cancel_in_progress": settings.github_actions.get("cancel_in_progress") is not False,
    }
