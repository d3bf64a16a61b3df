"""One video path: a video in, its poses and every per-video output out.

``predict`` (on videos), ``batch``, ``deidentify`` and ``overlay`` all come through here, so the
same video gives the same keypoints and the same files whichever command ran it:

1. :func:`~infantpose.video.tracking.predict_video` turns the video into a :class:`Poses`: one
   infant followed from frame to frame, frames decoded in a background thread, corrupt frames
   skipped (absent from ``frame_indices``), at most ``max_frames``, per-frame ``path`` and
   ``rotation`` in ``meta``.
2. :func:`run_video` writes the per-video files into one folder (:data:`LAYOUT`): ``poses.json``
   (raw tracked keypoints), ``poses_filtered.json`` (with a filter), the final keypoints in every
   asked format (``keypoints.csv``, ``keypoints.slp``, ...), ``trajectories.png``, and the videos
   ``overlay.mp4`` / ``deidentified.mp4``.
3. the videos are drawn in the same frame loop that predicts the poses
   (:mod:`infantpose.frames`, :class:`~infantpose.video.render.VideoRenders`), so a
   video is decoded once: the face hidden first (one face annotator, so the overlay and the
   de-identified copy hide the same regions), then the skeleton drawn for the overlay. Only an
   overlay of filtered poses (``batch --filter --overlay``) needs a second pass
   (:func:`render_videos`), since the filter looks ahead.

``deidentify`` has one meaning everywhere: hide the infant's face in every image and video
written (frames with no placeable face are blurred whole) and drop the facial keypoints from
every pose output; a video also gets its face-hidden copy ``deidentified.mp4``. Faces are placed
from the *raw* poses (head keypoints, which the outputs no longer hold) and the face detector.

Every file is written atomically; callers decide where the folder is (``predict`` stages it and
commits the whole run, ``batch`` writes each video's folder with a done-marker last).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.video.render import render_videos

if TYPE_CHECKING:
    from infantpose.video.privacy import DeidReport

__all__ = ["FORMAT_FILES", "LAYOUT", "VideoOptions", "VideoResult", "deidentify_video",
           "planned_files", "predict_and_deidentify", "render_overlay", "render_videos",
           "run_video"]

#: Pose format (``--format``) -> file name in a video's folder; ``json`` is ``poses.json``, always
#: written. The other files hold the final keypoints (filtered when a filter ran).
FORMAT_FILES = {"json": "poses.json", "csv": "keypoints.csv", "slp": "keypoints.slp",
                "nwb": "keypoints.nwb", "movement": "keypoints.nc", "dlc": "keypoints_dlc.csv"}

#: Every file a video's folder may hold, in the order they are written.
LAYOUT = ["poses.json", "poses_filtered.json", *list(FORMAT_FILES.values())[1:],
          "trajectories.png", "deidentified.mp4", "overlay.mp4"]


@dataclass
class VideoOptions:
    """What to make of one video (plain values: it travels to Dask workers inside
    :class:`~infantpose.video.batch.BatchOptions`).

    Attributes:
        tracking: follow the infant frame to frame (:mod:`infantpose.video.tracking`).
        max_frames: at most this many frames (quick looks); every output covers the same frames.
        filter: smoothing method of :mod:`infantpose.video.filters` (None: no filtered output).
        filter_options: options of :class:`~infantpose.video.filters.FilterConfig`.
        deidentify: ``"mosaic"`` or ``"blur"``: hide the face in every video written, drop facial
            keypoints from every pose file, and write ``deidentified.mp4``.
        drop_facial: drop facial keypoints from the pose files without writing any video
            (implied by ``deidentify``).
        overlay: write ``overlay.mp4`` (the skeleton on the video; face hidden with
            ``deidentify``).
        plot: write ``trajectories.png``.
        formats: pose formats besides ``poses.json`` (see :data:`FORMAT_FILES`).
        nwb: subject and session metadata of the NWB file (the fields of
            :class:`~infantpose.io.nwb.NwbInfo`, as plain values).
    """

    tracking: bool = True
    max_frames: int | None = None
    filter: str | None = None
    filter_options: dict[str, Any] = field(default_factory=dict)
    deidentify: str | None = None
    drop_facial: bool = False
    overlay: bool = False
    plot: bool = False
    formats: list[str] = field(default_factory=lambda: ["csv"])
    nwb: dict[str, Any] = field(default_factory=dict)

    def check(self) -> VideoOptions:
        """InputError for values no video could use (before any work starts)."""
        from infantpose.video.privacy import MODES

        if self.deidentify is not None and self.deidentify not in MODES:
            raise InputError(None, f"--deidentify must be mosaic or blur, got "
                                   f"{self.deidentify!r}")
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(None, f"--max-frames must be at least 1, got {self.max_frames}")
        unknown = [f for f in self.formats if f not in FORMAT_FILES]
        if unknown:
            raise InputError(None, f"unknown pose format {unknown[0]!r}; choose from "
                                   f"{', '.join(FORMAT_FILES)}")
        if self.nwb:
            from infantpose.io.nwb import NwbInfo

            if "nwb" not in self.formats:
                raise InputError(None, "--subject-*, --session-description, --experimenter and "
                                       "--institution describe an NWB file: add --format nwb")
            self.nwb = vars(NwbInfo.from_dict(self.nwb))
        if self.filter is not None:
            from infantpose.video.filters import METHODS

            if self.filter not in METHODS:
                raise InputError(None, f"unknown filter {self.filter!r}; choose from "
                                       f"{', '.join(METHODS)}")
        return self

    @property
    def drops_facial(self) -> bool:
        return bool(self.deidentify) or self.drop_facial


def planned_files(options: VideoOptions) -> list[str]:
    """The file names :func:`run_video` writes into a video's folder for ``options``."""
    names = ["poses.json"]
    if options.filter:
        names.append("poses_filtered.json")
    names += [FORMAT_FILES[f] for f in dict.fromkeys(options.formats) if f != "json"]
    if options.plot:
        names.append("trajectories.png")
    if options.deidentify:
        names.append("deidentified.mp4")
    if options.overlay:
        names.append("overlay.mp4")
    return names


@dataclass
class VideoResult:
    """What :func:`run_video` made of one video.

    ``poses`` is the raw tracked result (facial keypoints included: it places faces), ``final``
    what the keypoint files hold (filtered, facial keypoints dropped as asked), ``written`` the
    file names written, ``info`` measures worth recording (``jitter``, ``deidentification``,
    ``overlay``).
    """

    poses: Poses
    final: Poses
    written: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def run_video(estimator: Any, video: str | os.PathLike, out_dir: str | os.PathLike,
              options: VideoOptions, meta: dict[str, Any] | None = None,
              progress: Callable[[int], None] | None = None,
              final_dir: str | os.PathLike | None = None) -> VideoResult:
    """Turn one video into its poses and write its files into ``out_dir`` (which must exist).

    ``meta`` is added to the poses' ``meta`` (e.g. ``model`` and ``weights`` as the user named
    them; ``model`` defaults to the estimator's name); ``progress`` is called with 1 per frame
    predicted (and per frame of the second pass an overlay of filtered poses needs). The
    video is decoded once: the face-hidden copy and the overlay are drawn in the frame loop
    while the poses are predicted, except an overlay of *filtered* poses (the filter looks
    ahead), which is drawn in a second pass after filtering. Raises InputError
    for a video that cannot be read or yields no frame; a file that fails halfway is never left
    (each is written atomically), but files written before the failure stay: callers clean up.
    ``final_dir``: where the files will end up when ``out_dir`` is a staging folder (SLEAP and
    NWB files name the video relative to it).
    """
    vid, out = Path(video), Path(out_dir)
    # the face-hidden copy and an overlay of the raw poses are drawn while the poses are
    # predicted (one decoding pass); an overlay of filtered poses waits for the filter
    now = None
    if options.deidentify or (options.overlay and not options.filter):
        now = _renders(vid, out, options, overlay=options.overlay and not options.filter)
    try:
        return _run_video(estimator, vid, out, options, meta, progress, final_dir, now)
    except BaseException as e:
        if now is not None:
            now.abort(e)
        raise


def _renders(vid: Path, out: Path, options: VideoOptions, overlay: bool) -> Any:
    """The :class:`~infantpose.video.render.VideoRenders` drawn during prediction."""
    from infantpose.io.video import probe_video
    from infantpose.video.render import VideoRenders

    info = probe_video(vid)
    return VideoRenders(vid, info.fps, deidentify=options.deidentify,
                        deidentified=out / "deidentified.mp4" if options.deidentify else None,
                        overlay=out / "overlay.mp4" if overlay else None,
                        draw_fps=info.fps or None)


def _run_video(estimator: Any, vid: Path, out: Path, options: VideoOptions,
               meta: dict[str, Any] | None, progress: Callable[[int], None] | None,
               final_dir: str | os.PathLike | None, now: Any) -> VideoResult:
    """:func:`run_video` with ``now``, the renders drawn in the prediction pass (or None)."""
    from infantpose.video.tracking import predict_video

    def export(p: Poses) -> Poses:
        if options.drops_facial:
            from infantpose.video.privacy import drop_facial_keypoints
            return drop_facial_keypoints(p)
        return p

    on_frame = None
    if now is not None:
        def on_frame(frame: Any, raw: Poses) -> None:  # faces placed from the raw poses
            now(frame, raw, export(raw) if now.w_over is not None else None)

    poses = predict_video(estimator, vid, tracking=options.tracking,
                          max_frames=options.max_frames, progress=progress, on_frame=on_frame)
    if poses.n_frames == 0:
        raise InputError(vid, "no frames could be decoded")
    poses.meta.update(meta or {})
    result = VideoResult(poses, poses)
    filtered = None
    if options.filter:
        from infantpose.video.filters import FilterConfig, filter_poses

        cfg = FilterConfig(method=options.filter, **options.filter_options)
        try:
            filtered = filter_poses(poses, cfg)
        except ValueError as e:
            raise InputError(vid, f"cannot filter its keypoints ({e})") from None
        result.final = filtered
        if poses.fps:
            result.info["jitter"] = jitter_summary(poses, filtered, cfg.min_score)

    def wrote(name: str) -> None:
        result.written.append(name)

    final = export(result.final)
    export(poses).save_json(out / "poses.json")
    wrote("poses.json")
    if filtered is not None:
        export(filtered).save_json(out / "poses_filtered.json")
        wrote("poses_filtered.json")
    for fmt in dict.fromkeys(options.formats):
        if fmt == "json":
            continue
        from infantpose.io.nwb import NwbInfo
        from infantpose.io.posefiles import write_pose_file

        write_pose_file(final, out / FORMAT_FILES[fmt], fmt, nwb=NwbInfo.from_dict(options.nwb),
                        relative_to=out if final_dir is None else final_dir)
        wrote(FORMAT_FILES[fmt])
    if options.plot:
        from infantpose.video.plots import plot_trajectories

        plot_trajectories(final, out / "trajectories.png",
                          raw=export(poses) if filtered is not None else None, title=vid.name)
        wrote("trajectories.png")
    rendered: dict[str, Any] = {}
    if now is not None:
        rendered = now.finish(int(poses.meta.get("corrupt_frames", 0)))
    if options.overlay and options.filter:  # the smoothed poses drawn: a second pass
        later = render_videos(
            vid, draw=final, face_poses=poses, deidentify=options.deidentify,
            overlay=out / "overlay.mp4", max_frames=options.max_frames, progress=progress)
        rendered = {**later, **rendered}
    if options.deidentify:
        result.info["deidentification"] = rendered["deidentification"]
        wrote("deidentified.mp4")
    if options.overlay:
        result.info["overlay"] = {"frames": rendered["frames"],
                                  "annotated": rendered["annotated"]}
        wrote("overlay.mp4")
    return result


def jitter_summary(raw: Poses, filtered: Poses, min_score: float) -> dict[str, float | None]:
    """Mean over keypoints of the jitter measures before and after filtering (instance 0),
    on the video's frame numbers (skipped frames count as time)."""
    import numpy as np

    from infantpose.video.filters import (high_frequency_power, mask_low_scores,
                                          mean_abs_acceleration)

    before = mask_low_scores(raw.data[:, 0], min_score)
    after = filtered.data[:, 0]
    out: dict[str, float | None] = {}
    for key, fn in (("acc", mean_abs_acceleration), ("hf", high_frequency_power)):
        for tag, arr in (("before", before), ("after", after)):
            v = fn(arr, raw.fps, frame_indices=raw.frame_indices)
            v = v[np.isfinite(v)]
            out[f"{key}_{tag}"] = round(float(v.mean()), 3) if v.size else None
    return out


def render_overlay(video: str | os.PathLike, poses: Poses, out: str | os.PathLike,
                   deidentify: str | None = None, trail_seconds: float = 1.0,
                   min_score: float = 0.0, face_poses: Poses | None = None,
                   show_progress: bool = False, max_frames: int | None = None,
                   progress: Any = None) -> dict[str, Any]:
    """Write an overlay video of ``poses`` (e.g. filtered) drawn on ``video``.

    Frames are matched to poses by frame index; frames without poses are written unannotated.
    ``deidentify`` ("mosaic" or "blur") hides the face first, placed by the face detector and the
    head keypoints of ``face_poses`` (default ``poses``), and leaves the facial keypoints
    undrawn; frames where no face can be placed are blurred whole. Written atomically, without
    source metadata, by :func:`render_videos` (the one video path).
    """
    res = render_videos(video, draw=poses, face_poses=face_poses, deidentify=deidentify,
                        overlay=out, max_frames=max_frames, trail_seconds=trail_seconds,
                        min_score=min_score, progress=progress, show_progress=show_progress)
    res.pop("report", None)
    return res


def deidentify_video(src: str | os.PathLike, dst: str | os.PathLike, mode: str = "mosaic",
                     margin: float = 0.3, poses: Poses | None = None, use_detector: bool = True,
                     show_progress: bool = False, max_frames: int | None = None,
                     progress: Any = None) -> DeidReport:
    """Write a copy of ``src`` with the face hidden in every frame and no metadata.

    ``poses`` (a video Poses of the same video, e.g. from ``infantpose predict``) adds face boxes
    from head keypoints, matched by frame index; its ``path`` field marks guessed poses
    (see :meth:`~infantpose.video.privacy.Deidentifier.face_regions`). The frames go through
    :func:`render_videos` (the one video path); the output is written atomically (no source
    tags, no audio). ``progress`` is called with 1 per frame;
    ``show_progress`` draws a bar instead.
    """
    from infantpose.video.privacy import MODES

    if mode not in MODES:
        raise InputError(None, f"unknown de-identification mode {mode!r}; choose mosaic or blur")
    res = render_videos(src, face_poses=poses, deidentify=mode, deidentified=dst,
                        margin=margin, use_detector=use_detector, max_frames=max_frames,
                        progress=progress, show_progress=show_progress)
    return res["report"]


def predict_and_deidentify(estimator: Any, video: str | os.PathLike, dst: str | os.PathLike,
                           mode: str = "mosaic", margin: float = 0.3, use_detector: bool = True,
                           progress: Callable[[int], None] | None = None
                           ) -> tuple[Poses, dict[str, Any]]:
    """Run ``estimator`` on ``video`` (tracking on) and write its face-hidden copy ``dst`` in
    the same pass (the video is decoded once): each frame's face is placed by the detector
    and by that frame's head keypoints as they are predicted. Returns the poses and what
    :func:`render_videos` returns; on an error ``dst`` does not appear."""
    from infantpose.io.video import probe_video
    from infantpose.video.render import VideoRenders
    from infantpose.video.tracking import predict_video

    sink = VideoRenders(video, probe_video(video).fps, deidentify=mode, deidentified=dst,
                        margin=margin, use_detector=use_detector)
    try:
        poses = predict_video(estimator, video, progress=progress,
                              on_frame=lambda frame, raw: sink(frame, raw, None))
    except BaseException as e:
        sink.abort(e)
        raise
    return poses, sink.finish(int(poses.meta.get("corrupt_frames", 0)))
