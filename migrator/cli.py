"""`migrator`: the command line. `main(argv) -> int`; user errors are one line, exit 2;
a forge, registry or channel that cannot do what was asked is one line, exit 1.

The bot's commands (`run`, `status`, `tokens`) and the service's (`outputs`) are
registered here side by side; neither package imports the other.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from migrator import __version__
from migrator.bot.cli_run import add_run_command
from migrator.bot.cli_status import add_status_commands
from migrator.bot.cli_tokens import add_token_commands
from migrator.core import process_setup
from migrator.core.errors import MigratorError, UserError
from migrator.forges.pacing import OutOfBudget
from migrator.service.commands import add_outputs_command


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line naming the command and what is wrong (exit 2); `-h`
    shows the whole usage. Sub-commands inherit this class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="migrator",
        description="Provision conda-forge feedstocks for output validation: tokens, CI "
                    "secrets, conda-forge.yml and rerender, with resumable JSON state; "
                    "and run the validation service that copies uploads to production.",
    )
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_command(commands)
    add_status_commands(commands)
    add_token_commands(commands)
    add_outputs_command(commands)
    return parser


def entry() -> int:
    """The process's entry point (`migrator`, `python -m migrator`)."""
    process_setup.settle()
    return main()


def main(argv: Sequence[str] | None = None,
         parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr,
    )
    if not args.verbose:  # its retry notes: the retries are ours to count and report
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        _check_folder(getattr(args, "state", None), "--state")
        return int(args.handler(args))
    except MigratorError as exc:  # a mistake, or unreachable, refused: the reason says
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UserError) else 1
    except OutOfBudget as exc:
        print(f"{parser.prog}: stopped: {exc}; the state is saved, the next run resumes",
              file=sys.stderr)
        return 3
    except BrokenPipeError:  # `migrator status | head`: the reader has what it wanted
        sys.stderr.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the state is saved, run again to resume",
              file=sys.stderr)
        return 130
    except OSError as exc:  # a path given that cannot be used: full disk, no permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{parser.prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _check_folder(path: object, option: str) -> None:
    """A folder option that names a file (or sits below one) is refused before any work."""
    if not isinstance(path, Path):
        return
    place = next((p for p in (path, *path.parents) if p.exists()), path)
    if place.exists() and not place.is_dir():
        what = "is a file" if place == path else f"is below the file {place}"
        raise UserError(f"{option} {path} {what}; give a folder")


if __name__ == "__main__":
    raise SystemExit(main())
