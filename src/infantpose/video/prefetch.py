"""Decode video frames in a background thread so the model never waits on I/O.

Decoding (FFmpeg, via PyAV) releases the GIL, so a producer thread filling a bounded queue runs
alongside the pose model: while the model works on frame *t*, frames *t+1 … t+n* are being
decoded. The queue bound keeps memory flat on long videos.
"""

from __future__ import annotations

import queue
import threading
from typing import Generic, TypeVar
from collections.abc import Iterable, Iterator

__all__ = ["Prefetcher", "prefetch"]

T = TypeVar("T")
_DONE = object()


class Prefetcher(Generic[T]):
    """Iterate over ``source`` through a bounded queue filled by a daemon thread.

    Exceptions raised by the source (e.g. :class:`~infantpose.errors.InputError` for an
    unreadable video) are re-raised in the consuming thread at the point they occurred.
    Use as a context manager or call :meth:`close` when stopping early; closing stops the
    producer and closes the source generator in its own thread.
    """

    def __init__(self, source: Iterable[T], maxsize: int = 8):
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._source = source
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="infantpose-prefetch", daemon=True)
        self._started = False
        self._finished = False

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        it = iter(self._source)
        try:
            for item in it:
                if not self._put(("item", item)):
                    break
            else:
                self._put(("done", None))
        except BaseException as e:  # handed to the consumer
            self._put(("error", e))
        finally:
            close = getattr(it, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass

    def __iter__(self) -> Iterator[T]:
        if not self._started:
            self._started = True
            self._thread.start()
        while not self._finished:
            kind, value = self._queue.get()
            if kind == "item":
                yield value
            elif kind == "done":
                self._finished = True
            else:
                self._finished = True
                raise value

    def close(self) -> None:
        """Stop the producer thread (frames still queued are discarded)."""
        self._stop.set()
        self._finished = True
        if self._started:
            self._thread.join(timeout=5)

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prefetch(source: Iterable[T], maxsize: int = 8) -> Iterator[T]:
    """Generator form of :class:`Prefetcher` that stops the thread when it is closed."""
    p = Prefetcher(source, maxsize)
    try:
        yield from p
    finally:
        p.close()
