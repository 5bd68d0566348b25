"""`migrator`: the command line. `main(argv) -> int`; user errors are one line, exit 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from migrator import __version__
from migrator.cli_demo import add_demo_command
from migrator.cli_forge import add_forge_commands
from migrator.cli_run import add_run_commands
from migrator.cli_tokens import add_token_commands
from migrator.errors import UserError
from migrator.pacing import OutOfBudget


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migrator",
        description="Provision conda-forge feedstocks for output validation: tokens, CI "
                    "secrets, conda-forge.yml and rerender, with resumable JSON state.",
    )
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_forge_commands(commands)
    add_run_commands(commands)
    add_token_commands(commands)
    add_demo_command(commands)
    outputs = commands.add_parser(
        "outputs", help="validate uploads on staging and copy them to production",
        description="The validation and copy service: `migrator outputs --help`.",
        add_help=False,
    )
    outputs.add_argument("rest", nargs=argparse.REMAINDER)
    outputs.set_defaults(handler=_outputs)
    return parser


def _outputs(args: argparse.Namespace) -> int:
    from migrator.outputs.cli import main as outputs_main

    rest = list(args.rest)
    return outputs_main(rest[1:] if rest[:1] == ["--"] else rest)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["outputs"]:  # its own parser, options and --help included
        argv = ["outputs", "--", *argv[1:]]
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except UserError as exc:
        print(f"migrator: error: {exc}", file=sys.stderr)
        return 2
    except OutOfBudget as exc:
        print(f"migrator: stopped: {exc}; the state is saved, the next run resumes",
              file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("migrator: interrupted; the state is saved, run again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
