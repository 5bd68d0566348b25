"""Cut Microsoft's Swagger 2.0 descriptions of Azure DevOps down to the operations the Azure
Pipelines secret store calls, convert them to OpenAPI 3.0, and write
`azure-devops.subset.json` beside this file.

    python testing/data/openapi/azure_devops_subset.py DIR

DIR holds `build-7.1-build.json` and `distributedTask-7.1-taskAgent.json` from
MicrosoftDocs/vsts-rest-api-specs (`specification/build/7.1/build.json`,
`specification/distributedTask/7.1/taskAgent.json`). The corrections made on the way are
listed in README.md; each is marked `CORRECTION` below.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "azure-devops.subset.json"
BUILD, TASK_AGENT = "build-7.1-build.json", "distributedTask-7.1-taskAgent.json"
DEFS = "/{organization}/{project}/_apis/build/definitions"
GROUPS = "/{organization}/{project}/_apis/distributedtask/variablegroups"
# (source file, method, path as the source spells it, path in the subset)
OPERATIONS = (
    (BUILD, "get", DEFS, DEFS),
    (BUILD, "get", DEFS + "/{definitionId}", DEFS + "/{definitionId}"),
    (BUILD, "put", DEFS + "/{definitionId}", DEFS + "/{definitionId}"),
    (BUILD, "get", DEFS + "/{definitionId}/revisions", DEFS + "/{definitionId}/revisions"),
    # Swagger allows one GET per path, so the by-name listing hides under `x-ms-paths`
    # with a trailing "?"; the by-ids listing that owns the plain path is not used
    (TASK_AGENT, "get", GROUPS + "?", GROUPS),
)
# the schemas whose `value` a GET answers with null for a secret variable
SECRET_HOLDERS = {(BUILD, "BuildDefinitionVariable"), (TASK_AGENT, "VariableValue")}
STANDARD_FORMATS = {"int32", "int64", "float", "double", "byte", "binary", "date",
                    "date-time", "password", "uuid", "uri"}
SCHEMA_KEYS = {"type", "format", "enum", "items", "properties", "additionalProperties",
               "allOf", "required", "description", "$ref", "readOnly"}


def load(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8-sig"))
    return data


def operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for table in ("paths", "x-ms-paths"):
        found = doc.get(table, {}).get(path, {}).get(method)
        if found is not None:
            return dict(found)
    raise KeyError(f"{method.upper()} {path} is not in the description")


class Converter:
    """Converts operations and the schemas they reach, naming schemas uniquely."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs
        self.schemas: dict[str, Any] = {}
        self._names: dict[tuple[str, str], str] = {}

    def name_of(self, source: str, name: str) -> str:
        key = (source, name)
        if key not in self._names:
            original = self.docs[source]["definitions"][name]
            unique = name
            taken = {n for (s, _), n in self._names.items() if s != source}
            if unique in taken:
                if self._source_schema(unique) == original:  # the same schema: share it
                    self._names[key] = unique
                    return unique
                unique = f"TaskAgent{name}" if source == TASK_AGENT else f"Build{name}"
            self._names[key] = unique
            self.schemas[unique] = None  # reserve before recursing: schemas refer to themselves
            converted = self.schema(source, original)
            if key in SECRET_HOLDERS:
                # CORRECTION: a GET answers a secret variable's value with null
                converted["properties"]["value"]["nullable"] = True
            self.schemas[unique] = converted
        return self._names[key]

    def _source_schema(self, unique: str) -> Any:
        for (source, name), given in self._names.items():
            if given == unique:
                return self.docs[source]["definitions"][name]
        return None

    def schema(self, source: str, node: Any) -> Any:
        if isinstance(node, list):
            return [self.schema(source, item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in SCHEMA_KEYS:
                continue  # x-ms-enum and the like: documentation only
            if key == "$ref":
                out[key] = "#/components/schemas/" + self.name_of(source, value.split("/")[-1])
            elif key == "format" and value not in STANDARD_FORMATS:
                continue  # CORRECTION: "array (int32)" and the like are prose, not formats
            elif key == "properties":
                out[key] = {name: self.schema(source, sub) for name, sub in value.items()}
            else:
                out[key] = self.schema(source, value)
        return out

    def parameters(self, source: str, given: list[dict[str, Any]]) -> tuple[list[Any], Any]:
        params, body = [], None
        shared = self.docs[source].get("parameters", {})
        for param in given:
            if "$ref" in param:
                param = shared[param["$ref"].split("/")[-1]]
            if param["in"] == "body":
                body = {"required": bool(param.get("required")), "content": {
                    "application/json": {"schema": self.schema(source, param["schema"])}}}
                continue
            schema = {k: v for k, v in param.items()
                      if k in ("type", "format", "enum", "items")}
            item = {"name": param["name"], "in": param["in"],
                    "required": bool(param.get("required")),
                    "schema": self.schema(source, schema)}
            if param.get("description"):
                item["description"] = param["description"]
            params.append(item)
        return params, body

    def operation(self, source: str, method: str, path: str) -> dict[str, Any]:
        found = operation(self.docs[source], method, path)
        params, body = self.parameters(source, found.get("parameters", []))
        out: dict[str, Any] = {
            "operationId": found["operationId"], "description": found.get("description", ""),
            "parameters": params, "responses": {},
            # CORRECTION: the operations name only their OAuth scopes, which hides the
            # document-wide personal access token (HTTP basic) that works for all of them
            "security": [{"accessToken": []}] + [
                {name: scopes for name, scopes in item.items()}
                for item in found.get("security", [])],
        }
        if body is not None:
            out["requestBody"] = body
        for status, answer in found["responses"].items():
            converted: dict[str, Any] = {"description": answer.get("description", "")}
            if "schema" in answer:
                schema = self.schema(source, answer["schema"])
                if schema.get("type") == "array":
                    # CORRECTION: the service wraps every collection as {count, value}
                    schema = {"type": "object", "required": ["count", "value"],
                              "properties": {"count": {"type": "integer", "format": "int32"},
                                             "value": schema}}
                converted["content"] = {"application/json": {"schema": schema}}
            out["responses"][status] = converted
        return out


def security_schemes(doc: dict[str, Any]) -> dict[str, Any]:
    oauth = doc["securityDefinitions"]["oauth2"]
    return {
        "accessToken": {"type": "http", "scheme": "basic",
                        "description": doc["securityDefinitions"]["accessToken"]["description"]},
        "oauth2": {"type": "oauth2", "flows": {"authorizationCode": {
            "authorizationUrl": oauth["authorizationUrl"], "tokenUrl": oauth["tokenUrl"],
            "scopes": {}}}},
    }


def subset(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    docs = {name: load(folder, name) for name in (BUILD, TASK_AGENT)}
    convert = Converter(docs)
    paths: dict[str, dict[str, Any]] = {}
    for source, method, path, target in OPERATIONS:
        paths.setdefault(target, {})[method] = convert.operation(source, method, path)
    schemes = security_schemes(docs[BUILD])
    scopes = schemes["oauth2"]["flows"]["authorizationCode"]["scopes"]
    for doc in docs.values():
        scopes.update(doc["securityDefinitions"]["oauth2"]["scopes"])
    out = {
        "openapi": "3.0.3",
        "info": {"title": "Azure DevOps REST API (build definitions, variable groups), subset",
                 "version": "7.1"},
        "servers": [{"url": "https://dev.azure.com"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(convert.schemas.items())),
                       "securitySchemes": schemes},
    }
    sums = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in docs}
    return out, sums


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out, sums = subset(Path(argv[0]))
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for name, digest in sums.items():
        print(f"source {name}: sha256 {digest}")
    print(f"wrote {OUT.name}: sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}, "
          f"{len(out['paths'])} paths, {len(out['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
