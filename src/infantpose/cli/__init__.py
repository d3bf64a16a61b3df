"""The ``infantpose`` command: one Typer app, sub-commands in modules of this package.

Each sub-command module defines its commands on :data:`app` and imports heavy dependencies
inside the command functions, so ``infantpose --help`` stays fast. Errors that are the user's
to fix (:class:`~infantpose.errors.InfantPoseError`) print one line and exit with code 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from infantpose.errors import InfantPoseError

app = typer.Typer(
    name="infantpose",
    help="Infant pose estimation and movement analysis on a laptop CPU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Infant pose estimation and movement analysis on a laptop CPU."""


# Sub-command modules, in the order they appear in --help.
COMMAND_MODULES = ["schemas", "predict", "examples", "evaluate", "convert", "synth", "video", "train",
                   "features", "label"]

for _mod in COMMAND_MODULES:
    importlib.import_module(f"infantpose.cli.{_mod}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning user errors into one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if argv is not None:
            return code
        raise
    except InfantPoseError as e:
        print(f"error: {e}", file=sys.stderr)
        if argv is not None:
            return 2
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        if argv is not None:
            return 130
        sys.exit(130)
    return 0
