"""The local forge's conversation with maintainers: commit comments, issues and pull
requests, each a small JSON file per repository under the forge's root."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from migrator.core.files import atomic_write_text, locked, read_json
from migrator.forges import ForgeError, PullInfo


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class LocalConversation:
    def __init__(self, root: Path) -> None:
        self.root = root

    def comment_on_commit(self, repo: str, sha: str, body: str) -> None:
        path = self.root / "comments" / f"{repo}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock")), open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"sha": sha, "body": body, "at": _now()}) + "\n")

    def comments(self, repo: str) -> list[dict[str, str]]:
        path = self.root / "comments" / f"{repo}.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def open_issue(self, repo: str, title: str, body: str) -> int:
        """The open issue with this title gets the new body; otherwise a new issue."""
        path = self.root / "issues" / f"{repo}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock")):
            issues: list[dict[str, Any]] = read_json(path) if path.is_file() else []
            for issue in issues:
                if issue["title"] == title and issue["state"] == "open":
                    issue["body"] = body
                    break
            else:
                issue = {"number": len(issues) + 1, "title": title, "body": body,
                         "state": "open"}
                issues.append(issue)
            atomic_write_text(path, json.dumps(issues, indent=2) + "\n")
        return int(issue["number"])

    def issues(self, repo: str) -> list[dict[str, Any]]:
        path = self.root / "issues" / f"{repo}.json"
        found: list[dict[str, Any]] = read_json(path) if path.is_file() else []
        return found

    def _pulls_path(self, repo: str) -> Path:
        return self.root / "pulls" / f"{repo}.json"

    def open_pull(self, repo: str, *, title: str, head_ref: str, base_ref: str,
                  author: str) -> int:
        """A maintainer opens a pull request (the demo and the tests play them)."""
        path = self._pulls_path(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock")):
            pulls: list[dict[str, Any]] = read_json(path) if path.is_file() else []
            number = len(pulls) + 1
            pulls.append({"number": number, "title": title, "head_ref": head_ref,
                          "base_ref": base_ref, "author": author, "state": "open",
                          "comments": []})
            atomic_write_text(path, json.dumps(pulls, indent=2) + "\n")
        return number

    def pulls(self, repo: str) -> list[dict[str, Any]]:
        path = self._pulls_path(repo)
        found: list[dict[str, Any]] = read_json(path) if path.is_file() else []
        return found

    def open_pulls(self, repo: str) -> list[PullInfo]:
        return [PullInfo(p["number"], p["title"], p["head_ref"], p["base_ref"], p["author"])
                for p in self.pulls(repo) if p["state"] == "open"]

    def comment_on_pull(self, repo: str, number: int, body: str) -> None:
        path = self._pulls_path(repo)
        with locked(path.with_suffix(".lock")):
            pulls: list[dict[str, Any]] = read_json(path) if path.is_file() else []
            pull = next((p for p in pulls if p["number"] == number), None)
            if pull is None:
                raise ForgeError(f"{repo} has no pull request #{number}")
            pull["comments"].append({"body": body, "at": _now()})
            atomic_write_text(path, json.dumps(pulls, indent=2) + "\n")
