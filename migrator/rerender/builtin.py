"""The builtin renderer: CI files from jinja2 templates, rendered in memory first."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import migrator
from migrator.feedstock.recipe import read_recipe
from migrator.rerender.ci_templates import TEMPLATE_DIR, render_template
from migrator.rerender.context import template_context
from migrator.rerender.jobs import Plan, plan_jobs
from migrator.rerender.refused import RenderError
from migrator.rerender.settings import read_settings
from migrator.rerender.variants import read_variants
from migrator.rerender.workdir import apply_outputs, read_inputs

CONFIG_FILE = "conda-forge.yml"
# Every file this renderer can produce, with its template. Only these are ever written
# or, when a render no longer produces them, deleted.
TEMPLATES = {
    "README.md": "README.md.j2",
    "azure-pipelines.yml": "azure-pipelines.yml.j2",
    ".azure-pipelines/azure-pipelines-linux.yml": "azure-pipelines-linux.yml.j2",
    ".azure-pipelines/azure-pipelines-osx.yml": "azure-pipelines-osx.yml.j2",
    ".azure-pipelines/azure-pipelines-win.yml": "azure-pipelines-win.yml.j2",
    ".github/workflows/conda-build.yml": "conda-build.yml.j2",
    ".scripts/build_steps.sh": "build_steps.sh.j2",
    ".scripts/run_docker_build.sh": "run_docker_build.sh.j2",
    ".scripts/run_osx_build.sh": "run_osx_build.sh.j2",
    ".scripts/run_win_build.bat": "run_win_build.bat.j2",
}
OWNED_PATHS = frozenset(TEMPLATES)
EXECUTABLE_PATHS = frozenset(
    {".scripts/build_steps.sh", ".scripts/run_docker_build.sh", ".scripts/run_osx_build.sh"}
)
_OS_SCRIPTS = {
    "linux": (".scripts/build_steps.sh", ".scripts/run_docker_build.sh"),
    "osx": (".scripts/run_osx_build.sh",),
    "win": (".scripts/run_win_build.bat",),
}


class Rendered(NamedTuple):
    files: dict[str, bytes]  # path -> content, sorted by path
    skip_render: tuple[str, ...]  # paths conda-forge.yml keeps out of rendering


def render_feedstock(
    files: Mapping[str, bytes], *, template_dir: Path = TEMPLATE_DIR
) -> Rendered:
    """Render every CI file from a feedstock's files (paths relative to its root).
    Raises RenderError, naming the file or template at fault, on any bad input."""
    settings = read_settings(_config_text(files))
    recipe = read_recipe(
        files, recipe_dir=settings.recipe_dir, prefer_v1=settings.build_tool == "rattler-build"
    )
    plan = plan_jobs(read_variants(files), settings)
    context = template_context(settings=settings, recipe=recipe, plan=plan)
    rendered = {}
    for path in sorted(_paths(plan)):
        if is_skipped(path, settings.skip_render):
            continue
        if path == CONFIG_FILE or path.startswith(f"{settings.recipe_dir}/"):
            raise RenderError(f"{path} is inside the recipe; refusing to render over it")
        text = render_template(TEMPLATES[path], context, template_dir=template_dir)
        rendered[path] = text.encode("utf-8")
    return Rendered(files=rendered, skip_render=settings.skip_render)


def _config_text(files: Mapping[str, bytes]) -> str | None:
    raw = files.get(CONFIG_FILE)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError(f"{CONFIG_FILE} is not UTF-8 text") from None


def _paths(plan: Plan) -> set[str]:
    paths = {"README.md"}
    if plan.azure:
        paths.add("azure-pipelines.yml")
        paths.update(f".azure-pipelines/azure-pipelines-{os_}.yml" for os_ in plan.azure)
    if plan.github_actions:
        paths.add(".github/workflows/conda-build.yml")
    for os_ in plan.oses:
        paths.update(_OS_SCRIPTS[os_])
    return paths


def is_skipped(path: str, skip_render: tuple[str, ...]) -> bool:
    for entry in skip_render:
        entry = entry.strip("/")
        if path == entry or path.startswith(f"{entry}/") or fnmatch.fnmatch(path, entry):
            return True
    return False


class BuiltinRenderer:
    name = "builtin"

    def __init__(self, *, template_dir: Path = TEMPLATE_DIR) -> None:
        self.template_dir = template_dir

    def version(self) -> str:
        return migrator.__version__

    def render(self, workdir: Path) -> None:
        rendered = render_feedstock(read_inputs(workdir), template_dir=self.template_dir)
        apply_outputs(
            workdir,
            rendered.files,
            owned=frozenset(p for p in OWNED_PATHS if not is_skipped(p, rendered.skip_render)),
            executable=EXECUTABLE_PATHS,
        )
