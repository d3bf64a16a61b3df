"""Keep native libraries' log lines off the terminal for the whole life of a command.

mediapipe and TensorFlow Lite log from C++ threads straight to file descriptor 2 ("INFO: Created
TensorFlow Lite XNNPACK delegate for CPU.", "W0000 00:00:... inference_feedback_manager.cc ...",
"WARNING: All log messages before absl::InitializeLog() ..."), sometimes after the Python call
that caused them has returned, so silencing stderr around each call
(:func:`infantpose._native.quiet_stderr`) cannot catch them all. For a command-line run, fd 2 is
pointed at a pipe; a thread copies every line to the real stderr except those native log lines.
Python's own ``sys.stderr`` (progress bars, messages, the error line) writes to the real stderr
directly, so nothing of ours is delayed or reordered.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

__all__ = ["NATIVE_LOG", "filtered_stderr"]

#: Lines written by absl/glog/TFLite logging (mediapipe's C++ runtime).
NATIVE_LOG = re.compile(rb"^(?:[IWEF]\d{4} [\d:. ]+\d+ [\w./-]+:\d+\]|INFO: |WARNING: All log "
                        rb"messages before absl|WARNING: Logging before InitGoogleLogging)")


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Within this block, native log lines written to fd 2 are dropped; everything else passes."""
    try:
        real = os.dup(2)
        r, w = os.pipe()
    except OSError:  # no usable fd 2 (e.g. closed): nothing to filter
        yield
        return
    sys.stderr.flush()
    os.dup2(w, 2)
    os.close(w)
    old_stderr = sys.stderr
    sys.stderr = open(os.dup(real), "w", buffering=1, encoding=getattr(old_stderr, "encoding",
                                                                      None) or "utf-8",
                      errors="backslashreplace", closefd=True)

    def pump() -> None:
        with os.fdopen(r, "rb", buffering=0) as src:
            pending = b""
            while True:
                chunk = src.read(65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not NATIVE_LOG.match(line):
                        os.write(real, line + b"\n")
            if pending and not NATIVE_LOG.match(pending):
                os.write(real, pending)

    t = threading.Thread(target=pump, name="infantpose-stderr-filter", daemon=True)
    t.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            sys.stderr.close()
        sys.stderr = old_stderr
        os.dup2(real, 2)  # closes the pipe's last write end: the pump drains and stops
        t.join(timeout=2)
        os.close(real)
