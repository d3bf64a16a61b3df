"""Keep native libraries' log lines off the terminal for the whole life of a command.

mediapipe and TensorFlow Lite log from C++ threads straight to file descriptor 2 ("INFO: Created
TensorFlow Lite XNNPACK delegate for CPU.", "W0000 00:00:... inference_feedback_manager.cc ...",
"WARNING: All log messages before absl::InitializeLog() ..."), and OpenCV and the image
libraries it bundles report damaged images there ("[ WARN:0@0.07] global grfmt_png.cpp ...",
"Corrupt JPEG data: premature end of data segment"), sometimes after the Python call
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

__all__ = ["CONTINUATION", "NATIVE_LOG", "filtered_stderr"]

#: Lines written by absl/glog/TFLite logging (mediapipe's C++ runtime), OpenCV's logging
#: ("[ WARN:0@0.071] global grfmt_png.cpp:792 ..."), and the image libraries OpenCV bundles
#: (libjpeg's "Corrupt JPEG data: ...", libpng's "libpng warning: ..."). infantpose judges every
#: image itself and reports a bad one in its own error line.
NATIVE_LOG = re.compile(rb"^(?:[IWEF]\d{4} [\d:. ]+\d+ [\w./-]+:\d+\]|INFO: |WARNING: All log "
                        rb"messages before absl|WARNING: Logging before InitGoogleLogging"
                        rb"|\[ ?(?:WARN|ERROR|INFO|DEBUG|FATAL|VERBOSE):\d+@[\d.]+\] "
                        rb"|Corrupt JPEG data: |Premature end of JPEG file|Invalid SOS parameters "
                        rb"for sequential JPEG|Inconsistent progression sequence for component "
                        rb"|Warning: unknown JFIF revision number |Warning: thumbnail image size "
                        rb"does not match data length |libpng (?:warning|error): )")
#: OpenCV continues a multi-line log message with lines that start with "> " (or are empty).
CONTINUATION = re.compile(rb"^(?:> |>$|$)")


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

    in_log = False

    def drop(line: bytes) -> bool:
        """A native log line, or the continuation of one."""
        nonlocal in_log
        in_log = bool(NATIVE_LOG.match(line)) or (in_log and bool(CONTINUATION.match(line)))
        return in_log

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
                    if not drop(line):
                        os.write(real, line + b"\n")
            if pending and not drop(pending):
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
