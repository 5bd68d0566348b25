"""`migrator tokens verify` and `migrator tokens status`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.feedstock.safe_files import read_feedstock_file
from migrator.forges.choose import add_forge_option, open_forge
from migrator.registries import RegistryError
from migrator.registries import token_file as registry_file
from migrator.registries import token_registry as registry
from migrator.registries.token_verify import verify

TOKEN_ENV = "FEEDSTOCK_TOKEN"


def add_token_commands(commands: Any) -> None:
    tokens = commands.add_parser("tokens", help="inspect and check feedstock tokens",
                                 description="Admin commands for the token registry.")
    sub = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "verify", help="check a token against the registry",
        description=f"Check a feedstock token against the registry. The token is read from "
                    f"the {TOKEN_ENV} environment variable or, when that is unset, from "
                    "standard input; never from the command line.",
    )
    check.add_argument("feedstock", help="feedstock name, with or without -feedstock")
    check.add_argument("--provider", choices=("azure", "github_actions"),
                       default="github_actions",
                       help="CI provider the token is used from (default: %(default)s)")
    add_forge_option(check)
    check.set_defaults(handler=_verify)
    status = sub.add_parser("status", help="live entries per feedstock, and expiries",
                            description="List feedstocks with registry entries: how many "
                                        "are live and when the expiring ones expire.")
    status.add_argument("--json", action="store_true")
    add_forge_option(status)
    status.set_defaults(handler=_status)


def _name(feedstock: str) -> str:
    return feedstock if feedstock.endswith("-feedstock") else f"{feedstock}-feedstock"


def _read_token() -> Secret:
    value = os.environ.get(TOKEN_ENV)
    if value is None:
        if sys.stdin.isatty():
            print(f"paste the token (input hidden is not supported; prefer {TOKEN_ENV}):",
                  file=sys.stderr)
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise UserError(f"no token given: set {TOKEN_ENV} or pipe it to standard input")
    return Secret(value)


def _verify(args: argparse.Namespace) -> int:
    token = _read_token()
    name = _name(args.feedstock)
    forge = open_forge(args)
    raw = forge.read_file(registry.REPO, registry.token_path(name))
    if raw is None:
        print(f"{name}: no registry entry; the token is NOT valid")
        return 1
    try:
        entries = registry_file.parse(raw.decode(), where=registry.token_path(name))
    except RegistryError as exc:
        raise UserError(str(exc)) from None
    if verify(token, entries, provider=args.provider):
        print(f"{name}: the token is valid for {args.provider}")
        return 0
    print(f"{name}: the token is NOT valid for {args.provider}")
    return 1


def _status(args: argparse.Namespace) -> int:
    forge = open_forge(args)
    now = time.time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="feedstock-tokens-") as scratch:
        # one shallow clone of the registry, not one API request per feedstock
        checkout = Path(scratch) / "registry"
        forge.clone(registry.REPO, None, checkout)
        files = {repo.name: read_feedstock_file(checkout, registry.token_path(repo.name),
                                                limit=1 << 20)
                 for repo in forge.list_feedstocks()}
    for name, raw in files.items():
        if raw is None:
            continue
        try:
            entries = registry_file.parse(raw.decode(), where=registry.token_path(name))
        except (RegistryError, UnicodeDecodeError) as exc:
            rows.append({"feedstock": name, "live": 0, "entries": 0, "next_expiry": None,
                         "error": str(exc)})
            continue
        live = [e for e in entries if e.is_live(e.provider, now)]
        expiring = sorted(e.expires_at for e in live if e.expires_at is not None)
        rows.append({"feedstock": name, "live": len(live), "entries": len(entries),
                     "next_expiry": _iso(expiring[0]) if expiring else None})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        expiry = f", next expiry {row['next_expiry']}" if row["next_expiry"] else ""
        print(f"{row['feedstock']}: {row['live']} live of {row['entries']}{expiry}")
    print(f"{len(rows)} feedstocks have registry entries")
    return 0


def _iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat(timespec="seconds")
