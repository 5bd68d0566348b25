"""Read a few keys from block-style YAML text line by line.

Recipes are only valid YAML after selectors are applied (duplicate keys, jinja leftovers),
and the rendered files need just a handful of scalars from them, so a forgiving line
reader serves better here than a YAML parser. Comments, quotes, block scalars (`>`, `|`)
and flow lists are understood; anything more exotic is skipped.
"""

from __future__ import annotations

import re

_TOP = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(#.*)?$")
_ENTRY = re.compile(r"^([A-Za-z_][\w-]*)\s*:(?:\s+(.*?))?\s*$")
_COMMENT = re.compile(r"\s+#.*$")


def block(lines: list[str], key: str) -> list[str]:
    """The lines under the top-level `key:` (empty when absent or written inline)."""
    found: list[str] = []
    inside = False
    for line in lines:
        if line[:1].isspace() or not line.strip() or line.startswith("#"):
            if inside:
                found.append(line)
            continue
        match = _TOP.match(line)
        inside = bool(match and match.group(1) == key)
        if inside and found:  # a repeated block: keep the first one only
            break
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _meaningful(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def child_scalars(lines: list[str]) -> dict[str, str]:
    """First-level `key: scalar` entries of a block; the first occurrence wins."""
    body = [line for line in lines if _meaningful(line)]
    if not body:
        return {}
    level = _indent(body[0])
    found: dict[str, str] = {}
    for index, line in enumerate(body):
        if _indent(line) != level:
            continue
        match = _ENTRY.match(line.strip())
        if not match or match.group(2) is None:
            continue
        key, value = match.group(1), match.group(2)
        if value[:1] in (">", "|"):
            value = " ".join(_continuation(body, index, level))
        found.setdefault(key, unquote(value))
    return found


def _continuation(body: list[str], index: int, level: int) -> list[str]:
    words: list[str] = []
    for line in body[index + 1:]:
        if _indent(line) <= level:
            break
        words.append(line.strip())
    return words


def child_list(lines: list[str], key: str) -> list[str]:
    """The items of the first-level `key:` list of a block (block or flow style)."""
    body = [line for line in lines if _meaningful(line)]
    if not body:
        return []
    level = _indent(body[0])
    for index, line in enumerate(body):
        match = _ENTRY.match(line.strip())
        if _indent(line) != level or not match or match.group(1) != key:
            continue
        inline = _COMMENT.sub("", match.group(2) or "").strip()
        if inline.startswith("[") and inline.endswith("]"):
            return [unquote(item) for item in inline[1:-1].split(",") if item.strip()]
        items = []
        for item in body[index + 1:]:
            stripped = item.strip()
            if not stripped.startswith("- ") or _indent(item) < level:
                break
            items.append(unquote(stripped[2:]))
        return items
    return []


def unquote(value: str) -> str:
    value = value.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.rfind(quote)
        if end > 0:
            inner = value[1:end]
            return inner.replace("''", "'") if quote == "'" else inner.replace('\\"', '"')
    return _COMMENT.sub("", value).strip()
