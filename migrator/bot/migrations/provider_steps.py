"""Which CI providers a feedstock uploads from, found before any token is made: each gets
its own token, and a provider whose jobs cannot be given one stops the feedstock here."""

from __future__ import annotations

from typing import Any

from migrator.bot.migrations.switch_steps import DOCS
from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask
from migrator.core import templating
from migrator.rerender.providers import ci_providers, uploading_providers

# the stores the bot can write a FEEDSTOCK_TOKEN to
SUPPORTED = ("azure", "github_actions")


APPVEYOR_TITLE = "Uploads from AppVeyor are no longer allowed: please move the Windows build"


def detect_providers(task: FeedstockTask[Any, Any]) -> str:
    files = task.rendered(task.tip(task.repo.default_branch))
    uploading = uploading_providers(files)
    unsupported = sorted(uploading - set(SUPPORTED))
    if unsupported:
        uses = ci_providers(files)
        platforms = {p: sorted({u.platform for u in uses if u.provider == p})
                     for p in unsupported}
        where = "; ".join(f"{p} builds {', '.join(platforms[p])}" for p in unsupported)
        if "appveyor" in platforms:
            number = task.forge.open_issue(task.repo.name, APPVEYOR_TITLE, templating.render(
                "maintainers/appveyor-issue.md.j2", platforms=", ".join(platforms["appveyor"]),
                several=len(platforms["appveyor"]) > 1, docs=DOCS))
            raise StepFailed(f"uploads from AppVeyor ({where}); told the maintainers in "
                             f"issue #{number}", code="appveyor-uploads")
        raise StepFailed(f"uploads from a CI provider that gets no feedstock token ({where}); "
                         "move those builds to azure or github_actions first",
                         code="unsupported-provider")
    if not uploading:
        raise StepFailed("no CI job of this feedstock uploads packages: nothing to provision",
                         code="no-uploads")
    task.record.providers = sorted(uploading)
    return "uploads from " + ", ".join(task.record.providers)

