"""The two commits a maintainer sees: the config commit (`conda-forge.yml`) and the
rerender commit (CI files), written together and pushed with one push by the `switch`
step on every selected branch.

The config commit is only made when the chosen renderer can rerender the feedstock, so
no feedstock is left half switched over; the rerender commit passes the guard first.
"""

from __future__ import annotations

from typing import Any

from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask
from migrator.core import templating
from migrator.core.gittrees import FILE_MODES, Change
from migrator.feedstock import FeedstockError, cfyml
from migrator.feedstock.commit_files import CommitFiles
from migrator.forges.publish import Commit, publish_commits
from migrator.rerender.guard import check_rerender
from migrator.rerender.rendered import Rendered
from migrator.rerender.working_copy import CI_FILE_LIMIT, CONFIG, CONFIG_LIMIT

DOCS = ("https://conda-forge.org/docs/maintainer/infrastructure/"
        "#output-validation-and-feedstock-tokens")
NAME = "output-validation"


def check_config(task: FeedstockTask[Any, Any]) -> str:
    """A `conda-forge.yml` the bot could not switch over stops the feedstock first, before
    any token is made, with the reason a maintainer can fix."""
    text = _config_text(task.tip(task.repo.default_branch), code="bad-config")
    try:
        new = cfyml.enable_output_validation(text)
    except FeedstockError as exc:
        raise StepFailed(str(exc), code="bad-config") from None
    return f"{CONFIG} can take the key" if new is not None else f"{CONFIG} has the key"


def check_renderable(task: FeedstockTask[Any, Any]) -> str:
    """Before any token is made: a feedstock the chosen renderer cannot rerender is left
    alone entirely, with the reason, rather than half provisioned."""
    renderer = task.renderer()
    refused = renderer.refusal(task.rendered(task.tip(task.repo.default_branch)))
    if refused is not None:
        raise StepFailed(f"the CI files cannot be rerendered by --renderer "
                         f"{renderer.name}: {refused}", code="render-refused")
    return f"--renderer {renderer.name} can rerender the CI files"


def switch(task: FeedstockTask[Any, Any]) -> str:
    """The config commit, then the rerender commit on top of it, pushed together."""
    options = task.context.options
    renderer = task.renderer()
    emptied: list[bool] = []
    configured: list[bool] = []
    made: list[Rendered] = []

    def set_config(files: CommitFiles) -> dict[str, Change]:
        text = _config_text(files, code="step")
        new = cfyml.enable_output_validation(text)
        configured[:] = [new is not None]
        if new is None:
            return {}
        refused = renderer.refusal(task.rendered(files))
        if refused is not None:
            raise StepFailed(f"the CI files could not be rerendered afterwards: {refused}",
                             code="render-refused")
        emptied[:] = [not text.strip() or text.strip() in ("[]", "{}")]
        return {CONFIG: new.encode("utf-8")}

    def rerender(files: CommitFiles) -> dict[str, Change]:
        rendered = renderer.render(task.rendered(files),
                                   lambda: task.scratch().checkout(files.commit))
        made[:] = [rendered]
        changed = dict(rendered.changed)
        before = {path: _plain_file(files, path) for path in changed}
        verdict = check_rerender(before, changed, full_rerender=rendered.full,
                                 max_changed_lines=options.max_render_lines)
        if not verdict.ok:
            raise StepFailed(f"refused the rerender commit: {verdict.reason}",
                             code="rerender-guard")
        return changed

    def rerender_message() -> str:
        return templating.render("commit/rerender.txt.j2", tool=made[0].tool,
                                 full=made[0].full, docs=DOCS)

    branch = task.current_branch
    config_message = templating.render("commit/output-validation-config.txt.j2",
                                       migration=NAME, docs=DOCS)
    pushed = publish_commits(
        task.scratch(), branch=branch, tip=task.tip(),
        commits=[Commit(set_config, config_message), Commit(rerender, rerender_message)],
        secrets=task.context.secrets)
    task.forget_tip(branch)
    rerendered = made and made[0].changed
    return _switched(pushed, config=any(configured), emptied=any(emptied) and any(configured),
                     tool=made[0].tool if rerendered else None)


def _switched(pushed: list[str], *, config: bool, tool: str | None, emptied: bool) -> str:
    """`config`: the config commit is among `pushed`; `tool`: what made the rerender
    commit, when there is one."""
    if not pushed:
        return f"{CONFIG} already had {cfyml.KEY}: true; the CI files already validate"
    names = ([CONFIG] if config else []) + ([tool] if tool else [])
    parts = [f"{sha[:12]} ({name})" for sha, name in zip(pushed, names, strict=True)]
    detail = "pushed " + " and ".join(parts)
    if emptied:
        detail += f"; {CONFIG} was empty, it now holds the key"
    if not config:
        detail += f"; {CONFIG} already had the key"
    if not tool:
        detail += "; the CI files already validate"
    return detail


def _config_text(files: CommitFiles, *, code: str) -> str:
    raw = files.read(CONFIG, limit=CONFIG_LIMIT)
    if raw is None:
        raise StepFailed(f"{CONFIG} is missing", code=code)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StepFailed(f"{CONFIG} is not UTF-8 text", code=code) from None


def _plain_file(files: CommitFiles, path: str) -> bytes | None:
    """A file as it was before the rerender; None where there was no regular file."""
    entry = files.entry(path)
    if entry is None or entry.mode not in FILE_MODES:
        return None
    return files.read(path, limit=CI_FILE_LIMIT)
