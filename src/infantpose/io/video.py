"""Video files: probe, decode frame by frame (skipping corrupt frames), and write atomically.

A function-based API on top of PyAV (FFmpeg):

* :func:`probe_video` -> :class:`VideoInfo` (fps, frame count, size, codec, duration).
* :func:`iter_frames` yields ``(frame_index, rgb)`` pairs. Decoding errors in the middle of a file
  are not fatal: the packet is skipped and counted in a :class:`DecodeStats` the caller passes in,
  so a pipeline can report "N corrupt frames skipped". ``frame_index`` is the frame's position in
  the video computed from its timestamp, so skipped frames leave a gap instead of shifting later
  frames.
* :class:`VideoWriter` / :func:`write_video` encode RGB frames to mp4/avi (H.264 when the FFmpeg
  build has an encoder for it, MPEG-4 Part 2 otherwise) through a temporary file that is renamed
  on success, and copy no metadata from any source (no creation time, device or GPS tags; the
  muxer runs in bit-exact mode and its remaining stamps are removed by
  :mod:`infantpose.io.container_tags`, so not even the muxer's name is written).

Missing, unreadable and zero-frame videos raise :class:`~infantpose.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from infantpose import _atomic
from infantpose.io.container_tags import scrub_tags
from infantpose.errors import InputError
from infantpose.io.images import IMAGE_EXTENSIONS, is_image_path

__all__ = [
    "VIDEO_EXTENSIONS",
    "media_files",
    "DecodeStats",
    "VideoInfo",
    "VideoWriter",
    "frame_to_rgb",
    "is_video_path",
    "iter_frames",
    "probe_video",
    "read_frames",
    "video_codec",
    "write_video",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")


def is_video_path(path: str | os.PathLike) -> bool:
    """True when the file name has a video extension we read (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def media_in_folder(folder: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(images, videos) directly inside ``folder``, sorted, hidden files skipped; an InputError
    naming the folder when it holds neither (the one folder rule of ``predict`` and ``label``)."""
    p = Path(folder)
    files = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
    imgs = [q for q in files if is_image_path(q)]
    vids = [q for q in files if is_video_path(q)]
    if not imgs and not vids:
        raise InputError(p, "folder contains no images or videos (images: "
                            f"{', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)}; videos: "
                            f"{', '.join(e.lstrip('.') for e in sorted(VIDEO_EXTENSIONS))})")
    return imgs, vids


def media_files(paths: Sequence[str | os.PathLike], what: str = "SOURCE"
                ) -> tuple[list[Path], list[Path]]:
    """(images, videos) named by command-line sources: files, or folders of them (sorted, not
    recursive; :func:`media_in_folder`). Anything missing or unusable raises InputError naming
    it (the one source rule of ``label`` and ``adapt``)."""
    images: list[Path] = []
    videos: list[Path] = []
    if not paths:
        raise InputError(None, f"no {what} given: name image files, videos or folders of them")
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            imgs, vids = media_in_folder(p)
            images.extend(imgs)
            videos.extend(vids)
        elif p.is_file():
            if is_image_path(p):
                images.append(p)
            elif is_video_path(p):
                videos.append(p)
            else:
                raise InputError(p, "not an image or video file (by its extension)")
        else:
            raise InputError(p, "no such file or directory")
    return images, videos


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns from a file's headers (``n_frames`` may be an estimate)."""

    path: str
    fps: float
    n_frames: int
    width: int
    height: int
    codec: str
    duration: float | None
    n_frames_exact: bool

    @property
    def frame_size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass
class DecodeStats:
    """Counters filled while decoding: frames delivered and packets that failed to decode."""

    decoded: int = 0
    corrupt: int = 0
    last_error: str | None = None
    #: frames of another size than the stream's (its resolution changed mid-stream), resized
    resized: int = 0


def _open(path: str | os.PathLike):
    # imported here: PyAV loads when a video is opened, not at start-up
    import av

    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    if not p.is_file():
        raise InputError(p, "not a file")
    if p.stat().st_size == 0:
        raise InputError(p, "empty file (0 bytes)")
    try:
        container = av.open(str(p), mode="r")
    except av.error.FFmpegError as e:
        raise InputError(p, f"cannot open video ({_short(e)})") from None
    except OSError as e:
        raise InputError(p, f"cannot read video ({e.strerror or e})") from None
    if not container.streams.video:
        container.close()
        raise InputError(p, "file has no video stream")
    return container


def _short(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).split(":")[0].strip() or type(e).__name__


def _stream_fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            f = float(rate)
            if math.isfinite(f) and f > 0:
                return f
    return 0.0


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read a video's headers: fps, frame count, size, codec and duration.

    The frame count comes from the container when it records one; otherwise it is estimated as
    duration × fps (``n_frames_exact`` False). A video whose container reports no frames and no
    duration is counted by demuxing its packets (fast: nothing is decoded). Raises InputError
    for a missing or unreadable file, or a file without a video stream or with zero frames.
    """
    p = Path(path)
    container = _open(p)
    try:
        s = container.streams.video[0]
        fps = _stream_fps(s)
        width, height = int(s.codec_context.width or 0), int(s.codec_context.height or 0)
        duration = None
        if s.duration is not None and s.time_base:
            duration = float(s.duration * s.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        n, exact = int(s.frames or 0), bool(s.frames)
        if n == 0 and duration and fps:
            n = int(round(duration * fps))
        if n == 0:
            n = sum(1 for pkt in container.demux(s) if pkt.size)
            exact = True
        codec = s.codec_context.name
    except InputError:
        raise
    except Exception as e:  # FFmpeg errors while reading headers
        raise InputError(p, f"cannot read video ({_short(e)})") from None
    finally:
        container.close()
    if n == 0:
        raise InputError(p, "video has zero frames")
    if width <= 0 or height <= 0:
        raise InputError(p, "video stream has no frame size")
    return VideoInfo(str(p), fps, n, width, height, codec, duration, exact)


def iter_frames(path: str | os.PathLike, stats: DecodeStats | None = None,
                max_frames: int | None = None, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, rgb)`` for each decodable frame (H×W×3 uint8 RGB).

    A packet that fails to decode in the middle of the file is skipped and counted in
    ``stats.corrupt`` (pass a :class:`DecodeStats` to see the count). Every frame comes at the
    stream's size (as :func:`probe_video` reports it, else the first frame's): a stream whose
    resolution changes mid-way has its other frames resized (counted in ``stats.resized``), so
    keypoints, overlays and face-hidden copies share one frame geometry. Frames before ``start``
    are decoded but not yielded; at most ``max_frames`` frames are yielded. Raises InputError
    when the file cannot be opened or when not a single frame can be decoded.
    """
    # imported here: PyAV loads when a video is opened, not at start-up
    import av

    p = Path(path)
    stats = stats if stats is not None else DecodeStats()
    container = _open(p)
    yielded = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream)
        tb = stream.time_base
        t0 = stream.start_time if stream.start_time is not None else None
        counter = 0
        size = (int(stream.codec_context.width or 0), int(stream.codec_context.height or 0))

        def index_of(frame) -> int:
            nonlocal t0
            if frame.pts is None or not tb or not fps:
                return counter
            if t0 is None:
                t0 = frame.pts
            return int(round(float((frame.pts - t0) * tb) * fps))

        def packets():
            # Demuxing errors (a damaged container) end the stream; they count as corrupt.
            demux = container.demux(stream)
            while True:
                try:
                    pkt = next(demux)
                except StopIteration:
                    return
                except av.error.EOFError:
                    return
                except av.error.FFmpegError as e:
                    stats.corrupt += 1
                    stats.last_error = _short(e)
                    return
                yield pkt

        last_index = -1
        for pkt in packets():
            try:
                frames = pkt.decode()
            except av.error.FFmpegError as e:
                stats.corrupt += 1
                stats.last_error = _short(e)
                continue
            for frame in frames:
                idx = index_of(frame)
                if idx <= last_index:  # timestamps missing or not increasing: count instead
                    idx = last_index + 1
                last_index = idx
                counter = idx + 1
                stats.decoded += 1
                if idx < start:
                    continue
                rgb = frame_to_rgb(frame)
                if size[0] <= 0 or size[1] <= 0:
                    size = (rgb.shape[1], rgb.shape[0])
                if rgb.shape[:2] != (size[1], size[0]):
                    # imported here: OpenCV loads only when a frame needs it
                    import cv2

                    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                    stats.resized += 1
                yield idx, rgb
                yielded += 1
                if max_frames is not None and yielded >= max_frames:
                    return
    except InputError:
        raise
    except av.error.FFmpegError as e:
        raise InputError(p, f"cannot decode video ({_short(e)})") from None
    finally:
        container.close()
    if stats.decoded == 0:
        detail = f" ({stats.last_error})" if stats.last_error else ""
        raise InputError(p, f"no decodable frames in video{detail}")


def frame_to_rgb(frame) -> np.ndarray:
    """A decoded PyAV frame as H×W×3 uint8 RGB.

    Plain 8-bit 4:2:0 frames (the usual case) are converted with OpenCV, about twice as fast as
    FFmpeg's swscale here (BT.601 matrix, nearest-neighbour chroma: colours may differ from a
    player's by a level or two, which does not matter to a pose model); anything else goes
    through swscale.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        # imported here: OpenCV loads only when a frame needs it
        import cv2

        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def read_frames(path: str | os.PathLike, max_frames: int | None = None,
                stats: DecodeStats | None = None) -> tuple[np.ndarray, list[int]]:
    """All (or the first ``max_frames``) decodable frames as an (F, H, W, 3) array and their indices."""
    idx, frames = [], []
    for i, rgb in iter_frames(path, stats=stats, max_frames=max_frames):
        idx.append(i)
        frames.append(rgb)
    return np.stack(frames), idx


def video_codec(suffix: str = ".mp4") -> str:
    """The encoder :class:`VideoWriter` uses: libx264 (H.264) when available, else mpeg4."""
    # imported here: PyAV loads when a video is opened, not at start-up
    import av

    if suffix.lower() == ".mp4" or suffix.lower() == ".mov" or suffix.lower() == ".mkv":
        for name in ("libx264", "libopenh264"):
            if name in av.codecs_available:
                return name
    return "mpeg4"


class VideoWriter:
    """Encode RGB frames to a video file, atomically, with no metadata copied from anywhere.

    Use as a context manager::

        with VideoWriter("out.mp4", fps=30, frame_size=(640, 480)) as w:
            for rgb in frames:
                w.write(rgb)

    Frames go to a temporary file beside the target, renamed on a clean exit; on an exception
    the temporary file is deleted and no output appears. ``frame_size`` is (width, height);
    odd sizes are padded by one pixel (yuv420p needs even sizes). ``crf`` sets H.264 quality
    (lower is better; 23 is FFmpeg's default); MPEG-4 uses a bit rate instead.
    """

    def __init__(self, path: str | os.PathLike, fps: float, frame_size: tuple[int, int],
                 codec: str | None = None, crf: int = 23, bit_rate: int = 4_000_000):
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".avi", ".mov", ".mkv"):
            raise InputError(self.path, "video output must be .mp4, .avi, .mov or .mkv")
        if not fps or not math.isfinite(fps) or fps <= 0:
            fps = 30.0
        self.fps = float(fps)
        self.width, self.height = int(frame_size[0]), int(frame_size[1])
        self.codec = codec or video_codec(self.path.suffix)
        self.crf = crf
        self.bit_rate = bit_rate
        self.frames_written = 0
        self._ctx: contextlib.AbstractContextManager | None = None
        self._container = None
        self._stream = None

    def __enter__(self) -> VideoWriter:
        # imported here: PyAV loads when a video is opened, not at start-up
        import av

        self._ctx = _atomic.atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._tmp = tmp
        try:
            self._container = av.open(str(tmp), mode="w", format=_format_for(self.path),
                                      options={"fflags": "+bitexact"})
            self._container.metadata.clear()
            rate = Fraction(self.fps).limit_denominator(1001)
            s = self._container.add_stream(self.codec, rate=rate)
            s.width = self.width + self.width % 2
            s.height = self.height + self.height % 2
            s.pix_fmt = "yuv420p"
            if self.codec in ("libx264",):
                s.codec_context.options = {"crf": str(self.crf), "preset": "veryfast"}
            else:
                s.codec_context.bit_rate = self.bit_rate
            s.metadata.clear()
            self._stream = s
        except BaseException:
            self._abort()
            raise
        return self

    def write(self, image: np.ndarray) -> None:
        """Append one H×W×3 uint8 RGB frame of the writer's size."""
        # imported here: PyAV loads when a video is opened, not at start-up
        import av

        arr = np.asarray(image)
        if arr.shape != (self.height, self.width, 3) or arr.dtype != np.uint8:
            raise ValueError(f"frame must be {self.height}x{self.width}x3 uint8, got "
                             f"{arr.shape} {arr.dtype}")
        s = self._stream
        if s.width != self.width or s.height != self.height:
            arr = np.pad(arr, ((0, s.height - self.height), (0, s.width - self.width), (0, 0)),
                         mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        with _atomic.disk_full_names(self.path):  # FFmpeg's ENOSPC names the temporary file
            for pkt in s.encode(frame):
                self._container.mux(pkt)
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort(exc_type, exc, tb)
            return
        try:
            with _atomic.disk_full_names(self.path):
                for pkt in self._stream.encode():
                    self._container.mux(pkt)
                self._container.close()
            scrub_tags(self._tmp)  # the muxer's own "Lavf"/"FFMP" stamps
        except BaseException as e:
            self._abort(type(e), e, e.__traceback__)
            raise
        self._ctx.__exit__(None, None, None)

    def _abort(self, exc_type=None, exc=None, tb=None) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        if self._ctx is not None:
            with contextlib.suppress(BaseException):
                self._ctx.__exit__(exc_type or RuntimeError, exc or RuntimeError("aborted"), tb)


def _format_for(path: Path) -> str:
    return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}[path.suffix.lower()]


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float,
                codec: str | None = None) -> Path:
    """Write RGB frames to ``path`` atomically (the size is taken from the first frame)."""
    it = iter(frames)
    try:
        first = np.asarray(next(it))
    except StopIteration:
        raise ValueError("write_video needs at least one frame") from None
    with VideoWriter(path, fps, (first.shape[1], first.shape[0]), codec=codec) as w:
        w.write(first)
        for f in it:
            w.write(f)
    return Path(path)
