"""What a run cost the stand-in Azure DevOps, per feedstock, and where secret values
travelled in its request log."""

from __future__ import annotations

import json
import re
import statistics
import urllib.parse
from collections import Counter
from typing import NamedTuple

from testing.azure_server.server import AzureServer, Entry

FEEDSTOCK_TOKEN = "FEEDSTOCK_TOKEN"
_DEFINITION = re.compile(r"/_apis/build/definitions/(\d+)(?:/|$)")
_NAME = re.compile(r"(?:^|&)name=([^&]*)")


class AzureCost(NamedTuple):
    requests: float  # per feedstock (mean)
    requests_max: int
    writes: float  # content-creating (PUT) per feedstock (mean)
    writes_max: int
    overhead: int  # requests naming no feedstock (the variable group listing)


def feedstock_of(server: AzureServer, entry: Entry) -> str | None:
    """The feedstock a request was about: its definition's name, from the path or the
    `name` filter of a listing."""
    found = _DEFINITION.search(entry.path)
    if found is not None:
        definition = server.model.definitions.get(int(found.group(1)))
        return None if definition is None else definition.name
    named = _NAME.search(entry.query)
    return urllib.parse.unquote(named.group(1)) if named is not None else None


def azure_cost(server: AzureServer, entries: list[Entry], feedstocks: list[str]) -> AzureCost:
    requests: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    overhead = 0
    names = set(feedstocks)
    for entry in entries:
        name = feedstock_of(server, entry)
        if name in names:
            requests[name] += 1
            writes[name] += entry.write
        else:
            overhead += 1
    counts = [requests[n] for n in feedstocks] or [0]
    wcounts = [writes[n] for n in feedstocks] or [0]
    return AzureCost(statistics.mean(counts), max(counts), statistics.mean(wcounts),
                     max(wcounts), overhead)


def written_tokens(server: AzureServer, entries: list[Entry]) -> list[tuple[str, str]]:
    """(feedstock, value) for every FEEDSTOCK_TOKEN value a PUT carried: Azure DevOps
    takes a secret variable's value in the body (over TLS), the one place it may be."""
    found = []
    for entry in entries:
        if entry.method != "PUT" or not entry.body:
            continue
        variable = (json.loads(entry.body).get("variables") or {}).get(FEEDSTOCK_TOKEN) or {}
        if variable.get("value") is not None:
            found.append((feedstock_of(server, entry) or "?", str(variable["value"])))
    return found


def without_written_tokens(entries: list[Entry]) -> list[Entry]:
    """The log with each PUT's FEEDSTOCK_TOKEN value blanked, and nothing else changed:
    what remains must hold no token at all."""
    cleaned = []
    for entry in entries:
        if entry.method == "PUT" and entry.body:
            body = json.loads(entry.body)
            variable = (body.get("variables") or {}).get(FEEDSTOCK_TOKEN)
            if isinstance(variable, dict) and variable.get("value") is not None:
                variable["value"] = "***"
                entry = entry._replace(body=json.dumps(body))
        cleaned.append(entry)
    return cleaned
