"""Native log lines (mediapipe, TFLite) written to fd 2 never reach the terminal of a CLI run."""

from __future__ import annotations

import subprocess
import sys

from infantpose.cli._stderr_filter import NATIVE_LOG

NOISE = [b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
         b"W0000 00:00:1795321183.136551   11273 inference_feedback_manager.cc:114] Feedback",
         b"I0000 00:00:1795321183.1 11268 gl_context.cc:357] GL version: 2.1",
         b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"]


def test_native_log_pattern():
    assert all(NATIVE_LOG.match(line) for line in NOISE)
    for keep in (b"error: a.json: bad", b"wrote 3 files", b"Warning: something of ours",
                 b"INFO:root:python logging line"):
        assert not NATIVE_LOG.match(keep)


def test_filter_drops_native_lines_written_to_fd2_and_keeps_ours():
    code = (
        "import os, sys\n"
        "from infantpose.cli._stderr_filter import filtered_stderr\n"
        "with filtered_stderr():\n"
        f"    for line in {NOISE!r}:\n"
        "        os.write(2, line + b'\\n')\n"
        "    os.write(2, b'native but not a log line\\n')\n"
        "    print('error: x.json: ours', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 0
    assert sorted(lines) == sorted(["native but not a log line", "error: x.json: ours", "after"])
