"""Errors that the command line reports as one line, naming the file and the problem."""

from __future__ import annotations

import os


class InfantPoseError(Exception):
    """A user-facing error: the CLI prints ``error: <message>`` and exits with code 2."""


class InputError(InfantPoseError):
    """Bad input: a missing, unreadable or malformed file, or an invalid argument value.

    ``path`` is the offending file (or None when the problem is not tied to a file).
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class OutputError(InputError):
    """An output could not be written (the disk is full, ...). ``path`` names the output file."""
