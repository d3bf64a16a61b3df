"""Video IO: probe, frame iteration with corrupt frames skipped and counted, atomic writing
without metadata, and InputError for missing/unreadable/zero-frame videos."""

import av
import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.io.images import list_images, read_image, write_image
from infantpose.io.video import (
    DecodeStats,
    VideoWriter,
    iter_frames,
    probe_video,
    read_frames,
    write_video,
)


def _frames(n=12, w=64, h=48):
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, : (i * 5) % w + 4] = (200, 80, 40)  # a growing bar, so frames differ
        f[h // 2:, :, 2] = 10 * i
        out.append(f)
    return out


def corrupt_packet(src, dst, which=6, seed=0):
    """Copy ``src`` to ``dst`` with the payload of packet number ``which`` replaced by noise."""
    with av.open(str(src)) as c:
        s = c.streams.video[0]
        pkts = [(p.pos, p.size) for p in c.demux(s) if p.size]
    pos, size = pkts[which]
    data = bytearray(open(src, "rb").read())
    data[pos:pos + size] = np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes()
    open(dst, "wb").write(bytes(data))
    return dst


def zero_frame_avi(path):
    c = av.open(str(path), "w")
    s = c.add_stream("mpeg4", rate=10)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    c.start_encoding()
    c.close()
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_write_probe_read(tmp_path, suffix):
    frames = _frames()
    path = write_video(tmp_path / f"v{suffix}", frames, fps=12.5)
    info = probe_video(path)
    assert (info.width, info.height, info.n_frames) == (64, 48, 12)
    assert info.fps == pytest.approx(12.5)
    stats = DecodeStats()
    got = list(iter_frames(path, stats))
    assert [i for i, _ in got] == list(range(12))
    assert stats.decoded == 12 and stats.corrupt == 0
    # lossy codec, but each frame decodes close to what was written
    for (_, rgb), f in zip(got, frames):
        assert rgb.shape == (48, 64, 3) and np.abs(rgb.astype(int) - f).mean() < 12
    arr, idx = read_frames(path, max_frames=5)
    assert arr.shape == (5, 48, 64, 3) and idx == [0, 1, 2, 3, 4]


def test_start_and_max_frames(tmp_path):
    path = write_video(tmp_path / "v.mp4", _frames(), fps=10)
    assert [i for i, _ in iter_frames(path, start=4, max_frames=3)] == [4, 5, 6]


def test_writer_writes_no_source_metadata(tmp_path):
    path = write_video(tmp_path / "v.mp4", _frames(4), fps=10)
    with av.open(str(path)) as c:
        tags = {**c.metadata, **c.streams.video[0].metadata}
    for key in ("creation_time", "encoder", "location", "com.apple.quicktime.make"):
        assert key not in tags
    raw = path.read_bytes()
    assert b"Lavf" not in raw and b"\xa9xyz" not in raw


def test_writer_is_atomic(tmp_path):
    with pytest.raises(RuntimeError), VideoWriter(tmp_path / "v.mp4", 10, (64, 48)) as w:
        w.write(_frames(1)[0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError), VideoWriter(tmp_path / "v.mp4", 10, (64, 48)) as w:
        w.write(np.zeros((10, 10, 3), np.uint8))  # wrong size
    assert list(tmp_path.iterdir()) == []


def test_corrupt_frame_in_the_middle_is_skipped_and_counted(tmp_path):
    good = write_video(tmp_path / "v.mp4", _frames(), fps=10)
    bad = corrupt_packet(good, tmp_path / "bad.mp4")
    stats = DecodeStats()
    got = [i for i, _ in iter_frames(bad, stats)]
    assert stats.corrupt >= 1
    assert len(got) == 12 - stats.corrupt == stats.decoded
    assert got == sorted(set(got)) and got[0] == 0 and got[-1] <= 11  # indices keep positions


def test_bad_videos_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="missing.mp4: no such file"):
        probe_video(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.mp4: empty file"):
        probe_video(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 50)
    with pytest.raises(InputError, match="junk.mp4: cannot open video"):
        probe_video(junk)
    with pytest.raises(InputError, match="junk.mp4"):
        list(iter_frames(junk))
    zero = zero_frame_avi(tmp_path / "zero.avi")
    with pytest.raises(InputError, match="zero.avi: video has zero frames"):
        probe_video(zero)
    with pytest.raises(InputError, match="zero.avi: no decodable frames"):
        list(iter_frames(zero))


def test_images_list_read_write(tmp_path):
    img = np.zeros((30, 40, 3), np.uint8)
    img[5:10, 5:20] = (255, 0, 0)
    write_image(tmp_path / "b.png", img)
    write_image(tmp_path / "a.jpg", img)
    (tmp_path / "notes.txt").write_text("x")
    files = list_images(tmp_path)
    assert [f.name for f in files] == ["a.jpg", "b.png"]
    back = read_image(tmp_path / "b.png")
    assert np.array_equal(back, img)  # RGB order kept, PNG lossless
    with pytest.raises(InputError, match="no such file"):
        list_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: folder contains no images"):
        list_images(tmp_path / "empty")
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes((tmp_path / "a.jpg").read_bytes()[:200])
    with pytest.raises(InputError, match="trunc.jpg"):
        read_image(trunc)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="garbage.png: corrupt"):
        read_image(garbage)
