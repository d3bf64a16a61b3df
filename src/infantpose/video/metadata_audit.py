"""Auditing a media file's metadata: its container and stream tags (via PyAV), and those that
could identify a recording, a device, a place or a person.

Split out of ``video/privacy.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from infantpose.errors import InputError

__all__ = ["container_metadata", "identifying_tags"]


# --- metadata ------------------------------------------------------------------------------------
def container_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Container and per-stream metadata tags of a media file (via PyAV), and its stream kinds."""
    # imported here: PyAV loads only when a container is audited
    import av

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with av.open(str(p)) as c:
            return {"container": dict(c.metadata),
                    "streams": [{"type": s.type, **dict(s.metadata)} for s in c.streams]}
    except av.error.FFmpegError as e:
        raise InputError(p, f"cannot open media file ({e})") from None


# Tags that identify a recording, a device, a place or a person (QuickTime, MP4, Matroska, EXIF).
_IDENTIFYING = ("creation_time", "date", "location", "location-eng", "com.apple.quicktime",
                "make", "model", "software", "encoder", "title", "artist", "author", "comment",
                "description", "copyright", "gps", "handler_name", "vendor_id", "timecode", "name")


def identifying_tags(path: str | os.PathLike) -> dict[str, str]:
    """The tags of ``path`` that could identify a recording (should be empty after infantpose)."""
    meta = container_metadata(path)
    found: dict[str, str] = {}
    for where, tags in [("container", meta["container"])] + [
            (f"stream{i}", s) for i, s in enumerate(meta["streams"])]:
        for k, v in tags.items():
            if k == "type":
                continue
            if any(key in k.lower() for key in _IDENTIFYING):
                if k.lower() == "handler_name" and str(v) in ("VideoHandler", ""):
                    continue  # the muxer's generic default, not from the source
                if k.lower() == "vendor_id" and str(v) in ("[0][0][0][0]",):
                    continue
                found[f"{where}:{k}"] = str(v)
    for s in meta["streams"]:
        if s["type"] == "audio":
            found["audio"] = "audio stream present"
    return found
