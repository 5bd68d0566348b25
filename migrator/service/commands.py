"""`migrator outputs ...`: the validation service and its admin commands.

    copy       send a copy request (CI): to a running service with --url, else in-process
    serve      run the HTTP service (waitress, with header, body and idle timeouts)
    recover    finish the requests a crash left behind
    register   register the outputs of feedstocks in feedstock-outputs
    mark-broken, unmark-broken, patch, reindex   maintain the production channel
    sweep      remove files left on staging and quarantine for over two hours

Channels are local folders, or anaconda.org with --channel-server URL (its tokens from
the environment: STAGING_BINSTAR_TOKEN, POST_STAGING_BINSTAR_TOKEN, PROD_BINSTAR_TOKEN;
the sweep takes only the two staging ones, and opens no forge).

The feedstock token is read from the FEEDSTOCK_TOKEN environment variable only.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from migrator.channels.base import Channel
from migrator.channels.directory import LocalChannel
from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges.choose import add_forge_option, open_forge
from migrator.service import local_setup as layout
from migrator.service.channel_commands import add_channel_commands, channel_named
from migrator.service.core import Service
from migrator.service.serve_options import add_serving_options, port_number, serving_limits


def add_outputs_command(commands: Any) -> None:
    parser = commands.add_parser(
        "outputs", help="validate uploads on staging and copy them to production",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="outputs_command", metavar="COMMAND", required=True)

    copy = sub.add_parser("copy", help="copy outputs from staging to production")
    copy.add_argument("outputs", nargs="+", metavar="SUBDIR/FILE=HASH")
    copy.add_argument("--feedstock", required=True, help="e.g. numpy-feedstock")
    copy.add_argument("--url", help="a running service, e.g. http://127.0.0.1:8080")
    copy.add_argument("--label", default="main", help="the label (default: %(default)s)")
    copy.add_argument("--git-sha", help="the commit the packages were built from")
    copy.add_argument("--hash-type", choices=("sha256", "md5"), default="sha256")
    copy.add_argument("--provider", help="the CI provider, e.g. github_actions")
    copy.add_argument("--no-comment", action="store_true",
                      help="do not comment on the commit when the copy fails")
    copy.set_defaults(handler=_copy)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", default="8080", help="1-65535 (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=4, help="copy jobs at once")
    add_serving_options(serve)
    serve.set_defaults(handler=_serve)

    sub.add_parser("recover", help="finish interrupted requests").set_defaults(
        handler=_recover)

    register = sub.add_parser("register", help="register feedstocks' outputs")
    register.add_argument("feedstocks", nargs="+")
    register.add_argument("--workdir", type=Path, default=None)
    register.set_defaults(handler=_register)

    add_channel_commands(sub, service=_service, sweep_target=_sweep_target)

    patch = sub.add_parser("patch", help="apply patch_instructions.json to a subdir")
    patch.add_argument("subdir")
    patch.add_argument("instructions", type=Path)
    patch.set_defaults(handler=_patch)

    reindex = sub.add_parser("reindex", help="rebuild a channel's repodata")
    reindex.add_argument("--full", action="store_true", help="read every package again")
    reindex.add_argument("--channel", default=layout.PRODUCTION)
    reindex.set_defaults(handler=_reindex)

    for command in sub.choices.values():
        add_forge_option(command)
        command.add_argument("--channels", type=Path, default=None,
                             help="folder of the local channels (default: <forge>/channels)")
        command.add_argument("--state", type=Path, default=None,
                             help="service state (default: <forge>/outputs-service)")
        command.add_argument("--channel-server", metavar="URL", default=None,
                             help="channels on anaconda.org's API at URL (e.g. "
                                  "https://api.anaconda.org), tokens from the environment")


def _service(args: argparse.Namespace) -> Service:
    forge = open_forge(args)
    local = args.forge != "github"
    if args.channel_server:
        from migrator.service.anaconda_setup import anaconda_service

        if not local and args.state is None:
            raise UserError("with --forge github, give --state")
        return anaconda_service(forge, base_url=args.channel_server,
                                state_dir=args.state or Path(args.forge) / "outputs-service")
    if not local and (args.channels is None or args.state is None):
        raise UserError("with --forge github, give --channels and --state")
    return layout.local_service(forge, forge_root=Path(args.forge),
                                channels_root=args.channels, state_dir=args.state)


def _state_dir(args: argparse.Namespace) -> Path:
    if args.state is not None:
        return Path(args.state)
    if args.forge == "github":
        raise UserError("with --forge github, give --state")
    return Path(args.forge) / "outputs-service"


def _sweep_target(args: argparse.Namespace, names: Sequence[str]
                  ) -> tuple[list[Channel], Path]:
    """The named channels alone, each with its own token, and the state dir; no forge
    is opened: the scheduled sweep holds no GitHub credentials."""
    if args.channel_server:
        from migrator.service.anaconda_setup import anaconda_channel_from_env

        return ([anaconda_channel_from_env(n, base_url=args.channel_server) for n in names],
                _state_dir(args))
    if args.forge == "github" and args.channels is None:
        raise UserError("with --forge github, give --channels and --state")
    channels = layout.local_channels(args.channels or Path(args.forge) / "channels")
    return [channel_named(channels, n) for n in names], _state_dir(args)


def _token() -> Secret:
    value = os.environ.get("FEEDSTOCK_TOKEN", "").strip()
    if not value:
        raise UserError("set FEEDSTOCK_TOKEN in the environment (never on the command line)")
    return Secret(value)


def _copy(args: argparse.Namespace) -> int:
    outputs = {}
    for item in args.outputs:
        key, sep, digest = item.partition("=")
        if not sep:
            raise UserError(f"{item!r}: give each output as SUBDIR/FILE=HASH")
        outputs[key] = digest
    body = {"feedstock": args.feedstock, "outputs": outputs, "channel": args.label,
            "git_sha": args.git_sha, "hash_type": args.hash_type, "provider": args.provider,
            "comment_on_error": not args.no_comment}
    token = _token()
    if args.url:
        from migrator.service.client import copy_via_service

        status, payload = copy_via_service(args.url, body, token)
        print(json.dumps(payload, indent=2, sort_keys=True))
        return 0 if status == 200 else 1
    service = _service(args)
    try:
        report = service.copy(body, token)
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    finally:
        service.close()  # the names it claimed go to the registry before it exits
    return 0 if report.status_code == 200 else 1


def _serve(args: argparse.Namespace) -> int:
    from migrator.service.server import serve_forever

    port, limits = port_number(args.port), serving_limits(args)
    serve_forever(_service(args), host=args.host, port=port, workers=args.workers,
                  limits=limits)
    return 0


def _recover(args: argparse.Namespace) -> int:
    service = _service(args)
    finished = service.recover()
    service.close()
    print(f"finished {len(finished)} interrupted request(s)")
    return 0


def _register(args: argparse.Namespace) -> int:
    from migrator.registries.outputs_writer import register_outputs

    service = _service(args)
    workdir = args.workdir or service.state_dir / "registry"
    results = register_outputs(service.forge, args.feedstocks, workdir=workdir)
    for name, item in sorted(results.items()):
        line = f"{name}: added {', '.join(item.added) or 'nothing'}"
        if item.already:
            line += f"; already theirs: {', '.join(item.already)}"
        if item.taken:
            line += "; taken: " + ", ".join(f"{n} ({'/'.join(o)})" for n, o in item.taken)
        if item.unresolved:
            line += f"; unresolved: {', '.join(item.unresolved)}"
        print(f"{line}; error: {item.error}" if item.error else line)
    return 0 if all(r.ok for r in results.values()) else 1


def _production(args: argparse.Namespace, name: str = layout.PRODUCTION) -> LocalChannel:
    channel = channel_named(_service(args).channels, name)
    if not isinstance(channel, LocalChannel):
        raise UserError("this command works on local channels only")
    return channel


def _patch(args: argparse.Namespace) -> int:
    try:
        instructions = json.loads(args.instructions.read_text())
        _production(args).set_patch_instructions(args.subdir, instructions)
    except (OSError, ValueError) as exc:
        raise UserError(f"{args.instructions}: {exc}") from None
    print(f"{args.subdir}: repodata re-rendered with {args.instructions}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from migrator.channels.local_reindex import reindex

    for item in reindex(_production(args, args.channel), full=args.full):
        print(f"{item.subdir}: {item.packages} packages, {item.read} read, "
              f"{item.dropped} dropped, {item.seconds:.2f} s")
    return 0
