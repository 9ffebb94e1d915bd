"""``python -m cnnviz COMMAND``: the studio's jobs from a terminal (share links, notebooks, training).

Each command lives in the feature package that owns it and is imported only when it runs, so
``python -m cnnviz --help`` stays quick (no TensorFlow import). A command module provides
``add_cli_arguments(parser)`` and ``run_cli(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Command name -> (the module that implements it, a one-line description for --help).
COMMANDS: dict[str, tuple[str, str]] = {
    "link": ("cnnviz.train.share", "Print the Train page link that opens a design file's settings."),
    "notebook": ("cnnviz.train.notebook", "Write a Jupyter notebook that reproduces a design file's run."),
    "train": ("cnnviz.train.command", "Train a design file from the terminal, like the Train page."),
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process arguments), run the chosen command and return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m cnnviz", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = (argv if argv is not None else sys.argv[1:])[:1]
    for name, (module_name, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if chosen == [name]:  # only the command that runs is imported
            importlib.import_module(module_name).add_cli_arguments(sub)
    args = parser.parse_args(argv)
    return int(importlib.import_module(COMMANDS[args.command][0]).run_cli(args))


if __name__ == "__main__":
    sys.exit(main())
