"""The two commits a maintainer sees: the config commit (`conda-forge.yml`) and the
rerender commit (CI files), each a step on every selected branch.

The config commit is only made when the chosen renderer can rerender the feedstock, so
no feedstock is left half switched over; the rerender commit passes the guard first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask
from migrator.bot.workcopy import commit_and_push
from migrator.core import templating
from migrator.feedstock import FeedstockError, cfyml
from migrator.feedstock.safe_files import read_feedstock_file, write_feedstock_file
from migrator.rerender import get_renderer
from migrator.rerender.guard import check_rerender
from migrator.rerender.rendered import Rendered
from migrator.rerender.working_copy import (
    CONFIG,
    CONFIG_LIMIT,
    changed_paths,
    head_version,
    rendered_files,
)

DOCS = ("https://conda-forge.org/docs/maintainer/infrastructure/"
        "#output-validation-and-feedstock-tokens")
NAME = "output-validation"


def check_config(task: FeedstockTask[Any, Any]) -> str:
    """A `conda-forge.yml` the bot could not switch over stops the feedstock first, before
    any token is made, with the reason a maintainer can fix."""
    raw = read_feedstock_file(task.workdir(task.repo.default_branch), CONFIG,
                              limit=CONFIG_LIMIT)
    if raw is None:
        raise StepFailed(f"{CONFIG} is missing", code="bad-config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StepFailed(f"{CONFIG} is not UTF-8 text", code="bad-config") from None
    try:
        new = cfyml.enable_output_validation(text)
    except FeedstockError as exc:
        raise StepFailed(str(exc), code="bad-config") from None
    return f"{CONFIG} can take the key" if new is not None else f"{CONFIG} has the key"


def check_renderable(task: FeedstockTask[Any, Any]) -> str:
    """Before any token is made: a feedstock the chosen renderer cannot rerender is left
    alone entirely, with the reason, rather than half provisioned."""
    renderer = get_renderer(task.context.options.renderer)
    files = rendered_files(task.workdir(task.repo.default_branch))
    refused = renderer.refusal(files)
    if refused is not None:
        raise StepFailed(f"the CI files cannot be rerendered by --renderer "
                         f"{renderer.name}: {refused}", code="render-refused")
    return f"--renderer {renderer.name} can rerender the CI files"


def set_config(task: FeedstockTask[Any, Any]) -> str:
    renderer = get_renderer(task.context.options.renderer)
    emptied: list[bool] = []

    def edit(workdir: Path) -> bool:
        raw = read_feedstock_file(workdir, CONFIG, limit=CONFIG_LIMIT)
        if raw is None:
            raise StepFailed(f"{CONFIG} is missing")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StepFailed(f"{CONFIG} is not UTF-8 text") from None
        new = cfyml.enable_output_validation(text)
        if new is None:
            return False
        refused = renderer.refusal(rendered_files(workdir))
        if refused is not None:
            raise StepFailed(f"the CI files could not be rerendered afterwards: {refused}",
                             code="render-refused")
        emptied[:] = [not text.strip() or text.strip() in ("[]", "{}")]
        write_feedstock_file(workdir, CONFIG, new.encode("utf-8"))
        return True

    message = templating.render("commit/output-validation-config.txt.j2", migration=NAME,
                                docs=DOCS)
    sha = commit_and_push(task, edit=edit, message=message)
    if sha is None:
        return f"{CONFIG} already had {cfyml.KEY}: true"
    note = f" ({CONFIG} was empty; it now holds the key)" if any(emptied) else ""
    return f"pushed {sha[:12]}{note}"


def rerender(task: FeedstockTask[Any, Any]) -> str:
    options = task.context.options
    renderer = get_renderer(options.renderer)
    made: list[Rendered] = []

    def edit(workdir: Path) -> bool:
        rendered = renderer.render(workdir, rendered_files(workdir))
        made[:] = [rendered]
        paths = changed_paths(workdir)
        if not paths:
            return False
        before = {p: head_version(workdir, p) for p in paths}
        after = {p: read_feedstock_file(workdir, p, limit=4 << 20) for p in paths}
        verdict = check_rerender(before, after, full_rerender=rendered.full,
                                 max_changed_lines=options.max_render_lines)
        if not verdict.ok:
            raise StepFailed(f"refused the rerender commit: {verdict.reason}",
                             code="rerender-guard")
        return True

    def message() -> str:
        return templating.render("commit/rerender.txt.j2", tool=made[0].tool,
                                 full=made[0].full, docs=DOCS)

    sha = commit_and_push(task, edit=edit, message=message)
    if sha is None:
        return "the CI files already validate: no rerender commit"
    return f"pushed {sha[:12]} ({made[0].tool})"
