"""Silence the start-up chatter that mediapipe's C++ runtime prints straight to stderr.

mediapipe logs lines such as "Created TensorFlow Lite XNNPACK delegate" through absl before its
logging is configured, so Python's warnings filters and GLOG variables cannot hide them; users
would see them in every command. We point file descriptor 2 at /dev/null while mediapipe builds
and runs its graphs. Python exceptions are unaffected: they are raised after stderr is restored.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Redirect the process's stderr (fd 2) to /dev/null for the duration (re-entrant)."""
    global _depth, _saved
    if os.environ.get("INFANTPOSE_NATIVE_LOGS"):
        yield
        return
    with _lock:
        if _depth == 0:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            _saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
