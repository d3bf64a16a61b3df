"""One progress bar for every long command (Rich, on stderr, so stdout stays clean for data).

Long work (frames of a video, training steps, photos to label) reports through :func:`bar`;
``enabled=False`` (the commands' ``--quiet``) turns it into a no-op with the same interface, so
library code can always call ``update``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Bar", "bar", "ticker"]


class Bar:
    """A progress bar with ``update(n)``, ``set_description(text)``, ``set_rate(text)``,
    ``set_total(n)``, ``reset(total, description)``, ``write(text)`` and ``close()``; also a
    context manager. Prints nothing when disabled (``write`` then prints the plain line).

    ``initial`` starts the count there (a resumed run), without counting toward the speed.
    """

    def __init__(self, total: int | None, description: str, enabled: bool = True,
                 unit: str = "frame", transient: bool = False, initial: int = 0):
        self.enabled = bool(enabled)
        self.n = int(initial)
        self._progress: Any = None
        self._task: Any = None
        if not self.enabled:
            return
        # imported here: rich loads only when a bar is shown (pipelines import this module)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TextColumn(f"{unit}s"),
                                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                  TimeRemainingColumn(), console=Console(stderr=True),
                                  transient=transient)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, rate="",
                                             completed=self.n)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)

    def set_description(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def set_rate(self, text: str) -> None:
        """Free text after the count, e.g. ``"12.3 frames/s"`` or ``"loss 0.12"``."""
        if self._progress is not None:
            self._progress.update(self._task, rate=text)

    def set_total(self, total: int | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def reset(self, total: int | None, description: str | None = None) -> None:
        """Start the count again at 0 (a new stage of the same work)."""
        self.n = 0
        if self._progress is not None:
            kw = {} if description is None else {"description": description}
            self._progress.reset(self._task, total=total, **kw)

    def write(self, text: str) -> None:
        """Print a line above the bar (to stderr; as a plain line when disabled)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def bar(total: int | None, description: str, *, enabled: bool = True, unit: str = "frame",
        transient: bool = False, initial: int = 0) -> Bar:
    """A progress bar over ``total`` units (None: unknown total), starting at ``initial``."""
    return Bar(total, description, enabled=enabled, unit=unit, transient=transient,
               initial=initial)


@contextlib.contextmanager
def ticker(total: int | None, description: str, *, show: bool = False,
           progress: Callable[[int], None] | None = None,
           unit: str = "frame") -> Iterator[Callable[[int], None]]:
    """The per-unit callback of a library function that reports progress: the caller's own
    ``progress`` when given (its bar counts), else the ``update`` of a transient bar of our own
    when ``show``, else a no-op."""
    if progress is not None:
        yield progress
        return
    with bar(total, description, enabled=show, unit=unit, transient=True) as b:
        yield b.update
