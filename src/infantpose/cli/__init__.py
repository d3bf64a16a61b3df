"""The ``infantpose`` command: one Typer app, sub-commands in modules of this package.

Each sub-command module defines its commands on :data:`app`: it parses the options into the
options dataclass of its workflow in :mod:`infantpose.pipelines`, calls it and prints the
result. The pipeline (and rich, for printing) is imported inside the command function, so
``infantpose --help`` stays fast. Errors that are the user's
to fix (:class:`~infantpose.errors.InfantPoseError`) print one line and exit with code 2.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import warnings

import typer

from infantpose import _atomic
from infantpose._atomic import NO_SPACE, is_disk_full
from infantpose.cli._stderr_filter import filtered_stderr
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
COMMAND_MODULES = ["schemas", "predict", "examples", "evaluate", "convert", "synth", "video", "train", "adapt", "label",
                   "features", "risk", "models"]

for _mod in COMMAND_MODULES:
    importlib.import_module(f"infantpose.cli.{_mod}")


def _quiet_libraries() -> None:
    """Keep library chatter (Python warnings, mediapipe/TensorFlow C++ logs) off the terminal, so
    that an error is the one line the user sees. ``INFANTPOSE_DEBUG=1`` shows everything."""
    if os.environ.get("INFANTPOSE_DEBUG"):
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # "[ WARN:0@0.1] ..." decoder chatter
    warnings.simplefilter("ignore")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)


class _Exceptions:
    """The click exception classes Typer raises (Typer >= 0.24 vendors click as typer._click)."""

    def __init__(self) -> None:
        mods = []
        try:
            from typer._click import exceptions as vendored
            mods.append(vendored)
        except ImportError:
            pass
        import click.exceptions as real

        mods.append(real)
        for name in ("NoArgsIsHelpError", "UsageError", "Exit", "ClickException", "Abort"):
            found = tuple(getattr(m, name) for m in mods if hasattr(m, name))
            setattr(self, name, found or (type(name, (Exception,), {}),))


def _click_exceptions() -> _Exceptions:
    return _Exceptions()


def run(argv: list[str]) -> int:
    """Run the command line ``argv``; return the exit code. Every failure the user can cause
    prints one line ``error: <file>: <problem>`` and returns 2; no traceback is shown unless
    ``INFANTPOSE_DEBUG`` is set."""
    _atomic.CREATED_DIRS.clear()
    code = _run(argv)
    if code != 0:  # a failed command leaves no empty output folder behind
        _atomic.remove_created_dirs()
    _atomic.CREATED_DIRS.clear()
    return code


def _run(argv: list[str]) -> int:
    """:func:`run` without the clean-up of empty folders."""
    cx = _click_exceptions()
    try:
        rv = app(args=[str(a) for a in argv], standalone_mode=False, prog_name="infantpose")
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    except cx.NoArgsIsHelpError as e:
        print(e.format_message(), file=sys.stderr)
        return 2
    except cx.UsageError as e:
        where = e.ctx.command_path if e.ctx is not None and e.ctx.command_path else "infantpose"
        _error(f"{where}: {e.format_message()} (see --help)")
        return 2
    except cx.Exit as e:
        return int(e.exit_code or 0)
    except cx.ClickException as e:
        _error(e.format_message())
        return 2
    except cx.Abort:
        _error("interrupted")
        return 130
    except InfantPoseError as e:
        _error(str(e))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except OSError as e:  # a file system refusal: read-only folder, disk full, name too long
        if os.environ.get("INFANTPOSE_DEBUG"):
            raise
        name = e.filename if e.filename is not None else ""
        problem = NO_SPACE if is_disk_full(e) else (e.strerror or e)
        _error(f"{os.fsdecode(name)}: {problem}" if name else f"{problem}")
        return 2
    except MemoryError:
        _error("out of memory (the input is too large for this machine)")
        return 2
    except Exception as e:
        if os.environ.get("INFANTPOSE_DEBUG"):
            raise
        if is_disk_full(e):  # a library's own wording (h5py, FFmpeg): still the user's to fix
            _error(f"{_named_file(e)}{NO_SPACE}")
            return 2
        _error(f"internal error ({type(e).__name__}: {e}); please report it, and rerun with "
               "INFANTPOSE_DEBUG=1 for the details")
        return 1


def _named_file(exc: BaseException) -> str:
    """``"<file>: "`` when a library's error text names the file (HDF5: ``filename = '...'``),
    else ``""``."""
    m = re.search(r"filename = '([^']+)'", str(exc))
    return f"{m.group(1)}: " if m else ""


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; with ``argv`` None (the console script) exit with the code."""
    _quiet_libraries()
    if argv is not None:
        return run(list(argv))
    if os.environ.get("INFANTPOSE_DEBUG"):
        sys.exit(run(sys.argv[1:]))
    with filtered_stderr():  # native log lines never reach the terminal
        code = run(sys.argv[1:])
    sys.exit(code)
