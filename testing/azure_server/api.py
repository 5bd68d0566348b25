"""The operations the store calls, answered from the model as Azure DevOps answers them:
collections wrapped as `{count, value}`, secret values shown as null, errors in the
service's own shape."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any, NamedTuple

from testing.azure_server.model import Definition, Group, Model, Variable, stamp

BOT = {"displayName": "conda-forge-migrator", "id": "3f1c7ee0-0000-4000-8000-000000000001",
       "uniqueName": "migrator@conda-forge.org"}


class Answer(NamedTuple):
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


def error(status: int, message: str, type_key: str) -> Answer:
    return Answer(status, {
        "$id": "1", "innerException": None, "message": message,
        "typeName": f"Microsoft.TeamFoundation.Build.WebApi.{type_key}, "
                    "Microsoft.TeamFoundation.Build2.WebApi",
        "typeKey": type_key, "errorCode": 0, "eventId": 3000})


def collection(items: list[Any]) -> Answer:
    return Answer(200, {"count": len(items), "value": items})


def _matches(pattern: str | None, name: str) -> bool:
    # the name filters take `*` wildcards and ignore case
    return pattern is None or fnmatch.fnmatchcase(name.lower(), pattern.lower())


def _url(model: Model, root: str, rest: str) -> str:
    return f"{root}/{model.organization}/{model.project_id}/_apis/{rest}"


def reference(model: Model, root: str, found: Definition) -> dict[str, Any]:
    url = _url(model, root, f"build/Definitions/{found.id}?revision={found.revision}")
    return {
        "id": found.id, "name": found.name, "path": "\\", "type": "build",
        "queueStatus": "enabled", "revision": found.revision, "quality": "definition",
        "createdDate": found.revisions[-1].changed, "url": url,
        "uri": f"vstfs:///Build/Definition/{found.id}", "authoredBy": BOT,
        "project": {"id": model.project_id, "name": model.project, "state": "wellFormed",
                    "revision": 1, "visibility": "public", "lastUpdateTime": stamp(0)},
        "_links": {"self": {"href": url}},
    }


def group_in_definition(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "type": "Vsts", "description": "",
            "variables": {k: v.shown() for k, v in group.variables.items()}}


def definition(model: Model, root: str, found: Definition) -> dict[str, Any]:
    body = reference(model, root, found)
    body.update({
        "comment": found.revisions[-1].comment,
        "process": {"type": 2, "yamlFilename": "/azure-pipelines.yml"},
        "repository": {"type": "GitHub", "name": f"conda-forge/{found.name}",
                       "url": f"https://github.com/conda-forge/{found.name}.git",
                       "defaultBranch": "refs/heads/main", "clean": "false",
                       "properties": {"reportBuildStatus": "true"}},
        "queue": {"id": 1, "name": "Azure Pipelines"},
        "variables": {k: v.shown() for k, v in found.variables.items()},
        "variableGroups": [group_in_definition(model.groups[g]) for g in found.groups
                           if g in model.groups],
    })
    return body


def list_definitions(model: Model, root: str, args: Mapping[str, str]) -> Answer:
    return collection([reference(model, root, d) for d in model.definitions.values()
                       if _matches(args.get("name"), d.name)])


def get_definition(model: Model, root: str, definition_id: int) -> Answer:
    found = model.definitions.get(definition_id)
    if found is None:
        return not_found(definition_id)
    return Answer(200, definition(model, root, found))


def not_found(definition_id: int) -> Answer:
    return error(404, f"The requested build definition {definition_id} could not be found.",
                 "DefinitionNotFoundException")


def put_definition(model: Model, root: str, definition_id: int, body: Any) -> Answer:
    found = model.definitions.get(definition_id)
    if found is None:
        return not_found(definition_id)
    if body.get("id") != definition_id:
        return error(400, f"The request specifies pipeline ID {definition_id} but the supplied "
                          f"pipeline has ID {body.get('id', 0)}.", "RouteIdConflictException")
    if body.get("revision") != found.revision:
        # a revision ahead of the stored one is answered 404 (MicrosoftDocs/
        # vsts-rest-api-specs#356); one behind it, 409 like any stale update
        if (body.get("revision") or 0) > found.revision:
            return not_found(definition_id)
        return error(409, f"The definition {definition_id} has been updated by another "
                          "client; read it again.", "DefinitionNotMatchedException")
    found.variables = _merge(found.variables, body.get("variables") or {})
    found.groups = [int(g["id"]) for g in body.get("variableGroups") or [] if "id" in g]
    found.save(str(body.get("comment") or ""))
    return Answer(200, definition(model, root, found))


def _merge(stored: dict[str, Variable], sent: Mapping[str, Any]) -> dict[str, Variable]:
    """The variables as sent; a secret sent back without a value keeps the stored one,
    which is how a definition read (values hidden) can be put back unchanged."""
    merged = {}
    for name, item in sent.items():
        secret = bool(item.get("isSecret"))
        value = item.get("value")
        if value is None and secret and name in stored:
            value = stored[name].value
        merged[name] = Variable(value, secret, bool(item.get("allowOverride")))
    return merged


def revisions(model: Model, root: str, definition_id: int) -> Answer:
    found = model.definitions.get(definition_id)
    if found is None:
        return not_found(definition_id)
    return collection([{
        "revision": r.number, "changedDate": r.changed, "changeType": r.change_type,
        "comment": r.comment, "name": found.name, "changedBy": BOT,
        "definitionUrl": _url(model, root, f"build/Definitions/{found.id}?revision={r.number}"),
    } for r in found.revisions])


def list_groups(model: Model, args: Mapping[str, str]) -> Answer:
    return collection([{
        "id": g.id, "name": g.name, "type": "Vsts", "description": "", "isShared": False,
        "variables": {k: {"value": None if v.is_secret else v.value, "isSecret": v.is_secret}
                      for k, v in g.variables.items()},
        "createdOn": g.modified, "modifiedOn": g.modified, "createdBy": BOT, "modifiedBy": BOT,
    } for g in model.groups.values() if _matches(args.get("groupName"), g.name)])
