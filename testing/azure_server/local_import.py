"""Serve a seeded local forge's Azure Pipelines store (`<forge>/azure`) from the stand-in
Azure DevOps: the same build definitions, linked to the staging group or not, so a run
through GitHub and Azure DevOps meets the feedstocks the local forge has."""

from __future__ import annotations

import json
from pathlib import Path

from migrator.forges.local_pipelines import GROUP, LocalPipelines
from testing.azure_server.model import Model, Variable

STAGING_TOKEN = "STAGING_BINSTAR_TOKEN"


def import_local(model: Model, store: Path, *, staging: str) -> list[str]:
    """Add a definition per local pipeline (its variables, secret values opened with the
    store's key, and whether it links the staging group), and the staging group holding
    `staging` (made if the model lacks it). Returns the definitions' names."""
    pipelines = LocalPipelines(store)
    with model.lock:
        try:
            group = model.group_named(GROUP)
        except StopIteration:
            group = model.add_group(GROUP, {})
        group.variables[STAGING_TOKEN] = Variable(staging, is_secret=True)
        names = []
        for path in sorted((Path(store) / "pipelines").glob("*.json")):
            record = json.loads(path.read_text())
            name = record["name"]
            variables = {key: Variable(pipelines.decrypt_variable(name, key),
                                       is_secret=bool(item["is_secret"]),
                                       allow_override=bool(item["allow_override"]))
                         for key, item in record["variables"].items()}
            linked = (GROUP,) if record["variable_groups"] else ()
            model.add_definition(name, variables=variables, groups=linked)
            names.append(name)
    return names
