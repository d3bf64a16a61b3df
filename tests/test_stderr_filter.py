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


def test_image_library_lines_are_dropped():
    """OpenCV's log lines (with their continuation lines), libjpeg's and libpng's warnings."""
    from infantpose.cli._stderr_filter import CONTINUATION

    for line in (b"[ WARN:0@0.071] global grfmt_png.cpp:792 readFromStreamOrBuffer PNG input",
                 b"[ERROR:0@0.097] global loadsave.cpp:1377 imdecode_ imdecode_(''): can't read",
                 b"Corrupt JPEG data: premature end of data segment",
                 b"Corrupt JPEG data: 3 extraneous bytes before marker 0xd9",
                 b"Premature end of JPEG file", b"libpng warning: iCCP: known incorrect sRGB",
                 b"Warning: unknown JFIF revision number 216.255",
                 b"libpng error: IDAT: incorrect data check"):
        assert NATIVE_LOG.match(line), line
    assert CONTINUATION.match(b">     'channels' is 5") and CONTINUATION.match(b"")
    assert not CONTINUATION.match(b"error: a.png: corrupt")


def _bad_images():
    """(file name, bytes) of images that make OpenCV or libjpeg talk on stderr."""
    import io

    import numpy as np
    import tifffile
    from PIL import Image

    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    half = len(jpeg) // 2
    five = io.BytesIO()
    tifffile.imwrite(five, np.zeros((20, 30, 5), np.uint8), planarconfig="contig")
    return {"header_only.png": b"\x89PNG\r\n\x1a\n",  # OpenCV: [ WARN ] and [ERROR] lines
            "five_channels.tif": five.getvalue(),  # OpenCV: a 6-line [ERROR] message
            # libjpeg: "Corrupt JPEG data: 153 extraneous bytes before marker 0xd9"
            "damaged.jpg": jpeg[:half] + b"\x00" * 64 + jpeg[half + 64:]}


def test_cli_stderr_is_the_error_line_only(tmp_path):
    """A command reading images OpenCV and libjpeg complain about prints only its own lines:
    the error line for an image it refuses, nothing about one it reads."""
    for name, data in _bad_images().items():
        (tmp_path / name).write_bytes(data)
        r = subprocess.run([sys.executable, "-m", "infantpose", "label", str(tmp_path / name),
                            "--out", str(tmp_path / f"project_{name}"), "--model", "none",
                            "--no-serve", "-q"], capture_output=True, timeout=120)
        lines = r.stderr.decode().splitlines()
        if name == "damaged.jpg":  # damaged but decodable: read, silently
            assert r.returncode == 0 and not any("JPEG" in x for x in lines), lines
        else:
            assert r.returncode == 2 and len(lines) == 1, lines
            assert lines[0].startswith("error: ") and name in lines[0]
