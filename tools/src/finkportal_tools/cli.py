"""The ``finkportal`` command: demo runner, replayer, simulator and store inspector."""

from __future__ import annotations

import argparse
import sys

from finkportal_tools.demo import add_demo_parser
from finkportal_tools.settings import ToolsSettings
from finkportal_tools.show import add_show_parser


def build_parser(settings: ToolsSettings) -> argparse.ArgumentParser:
    from finkportal_tools.replay import add_replay_parser
    from finkportal_tools.sim import add_generate_parser

    parser = argparse.ArgumentParser(prog="finkportal", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_demo_parser(subparsers)
    add_replay_parser(subparsers)
    add_generate_parser(subparsers)
    add_show_parser(subparsers, settings.store_url)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = ToolsSettings()
    args = build_parser(settings).parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
