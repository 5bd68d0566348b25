"""`python -m testing`: the demo and the local forge generator, from a checkout.

    python -m testing demo [DIR]            the whole system on a generated local forge
    python -m testing forge init DIR ...    a local organisation of generated feedstocks
    python -m testing forge archive DIR REPO

Every `migrator` command is also available here, so one entry point drives a demo.
"""

from __future__ import annotations

import argparse

from migrator.cli import build_parser, main
from testing.demo_cli import add_demo_command
from testing.forge_cli import add_forge_commands


def _parser() -> argparse.ArgumentParser:
    parser = build_parser()
    parser.prog = "python -m testing"
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    add_forge_commands(commands)
    add_demo_command(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main(parser=_parser()))
