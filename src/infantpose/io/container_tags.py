"""Remove the muxer's own identifying tags from a freshly written video file, in place.

FFmpeg's muxers stamp every file even in bit-exact mode: Matroska writes ``MuxingApp`` and
``WritingApp`` = "Lavf" (read back as the container tag ``encoder``), QuickTime writes the vendor
code ``FFMP`` into the video sample description (read back as ``vendor_id``). Neither names a
person, but both say which software made the file, and the privacy check
(:func:`infantpose.video.privacy.identifying_tags`) flags them; infantpose outputs carry none.

The patches keep every byte offset unchanged: the Matroska elements are turned into EBML
``Void`` elements of the same length (ignored by every reader; Matroska spec §EBML Void), and the
QuickTime vendor field is zeroed (QuickTime File Format, "Sample description atoms").
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["scrub_tags"]

_EBML_VOID = 0xEC
_MKV_SEGMENT = bytes.fromhex("18538067")
_MKV_INFO = bytes.fromhex("1549A966")
_MKV_APPS = (bytes.fromhex("4D80"), bytes.fromhex("5741"))  # MuxingApp, WritingApp
_MOV_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _vint(buf: bytes, pos: int) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, length in bytes)."""
    first = buf[pos]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8:
        raise ValueError("bad EBML vint")
    value = first & (mask - 1)
    for b in buf[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, length


def _void(total: int) -> bytes:
    """An EBML Void element exactly ``total`` bytes long (total >= 2)."""
    # ID (1 byte) + 8-byte size vint + data, or a 1-byte size for short elements.
    if total - 2 < 0x7F:
        return bytes([_EBML_VOID, 0x80 | (total - 2)]) + b"\0" * (total - 2)
    size = total - 9
    return bytes([_EBML_VOID, 0x01]) + size.to_bytes(7, "big") + b"\0" * size


def _element(buf: bytearray, pos: int) -> tuple[bytes, int, int]:
    """(id, data start, data size) of the EBML element at ``pos``."""
    id_len = _vint(buf, pos)[1]
    size, sn = _vint(buf, pos + id_len)
    return bytes(buf[pos:pos + id_len]), pos + id_len + sn, size


def _scrub_matroska(buf: bytearray) -> int:
    _, data, size = _element(buf, 0)           # the EBML header
    pos = data + size
    eid, seg_data, _ = _element(buf, pos)       # the Segment (its size may be "unknown")
    if eid != _MKV_SEGMENT:
        return 0
    pos, patched = seg_data, 0
    while pos + 2 < len(buf):
        eid, data, size = _element(buf, pos)
        if eid == _MKV_INFO:
            child, end = data, min(len(buf), data + size)
            while child < end:
                cid, cdata, csize = _element(buf, child)
                total = cdata - child + csize
                if cid in _MKV_APPS:
                    buf[child:child + total] = _void(total)
                    patched += 1
                child += total
            return patched
        if eid == bytes.fromhex("1F43B675"):  # a Cluster: the header elements are behind us
            return patched
        pos = data + size
    return patched


def _scrub_mov(buf: bytearray, start: int = 0, end: int | None = None) -> int:
    end = len(buf) if end is None else end
    pos, patched = start, 0
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", bytes(buf[pos:pos + 8]))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", bytes(buf[pos + 8:pos + 16]))[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        if kind in _MOV_CONTAINERS:
            patched += _scrub_mov(buf, pos + header, pos + size)
        elif kind == b"stsd":
            count = struct.unpack(">I", bytes(buf[pos + 12:pos + 16]))[0]
            entry = pos + 16
            for _ in range(count):
                esize = struct.unpack(">I", bytes(buf[entry:entry + 4]))[0]
                vendor = entry + 20  # size, format, 6 reserved, dref index, version, revision
                if buf[vendor:vendor + 4] == b"FFMP":
                    buf[vendor:vendor + 4] = b"\0\0\0\0"
                    patched += 1
                entry += max(esize, 8)
        pos += size
    return patched


def _top_level_atoms(f) -> list[tuple[int, int, bytes]]:
    """(offset, size, kind) of a QuickTime/MP4 file's top-level atoms, found by seeking."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    pos, atoms = 0, []
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
        elif size == 0:
            size = end - pos
        if size < 8:
            break
        atoms.append((pos, size, kind))
        pos += size
    return atoms


def scrub_tags(path: str | os.PathLike) -> int:
    """Remove FFmpeg's muxer tags from the video at ``path`` (Matroska, QuickTime/MP4), patching
    only the bytes concerned; returns how many were removed. Other formats are left as they are.
    """
    p = Path(path)
    n = 0
    with p.open("r+b") as f:
        head = f.read(8)
        if head[:4] == bytes.fromhex("1A45DFA3"):  # EBML: Matroska / WebM
            f.seek(0)
            buf = bytearray(f.read(1 << 16))  # the Info element sits at the start
            n = _scrub_matroska(buf)
            if n:
                f.seek(0)
                f.write(buf)
        elif head[4:8] in (b"ftyp", b"moov", b"wide", b"mdat", b"free"):
            for off, size, kind in _top_level_atoms(f):
                if kind != b"moov" or size > (256 << 20):
                    continue
                f.seek(off)
                buf = bytearray(f.read(size))
                k = _scrub_mov(buf)
                if k:
                    f.seek(off)
                    f.write(buf)
                n += k
    return n
