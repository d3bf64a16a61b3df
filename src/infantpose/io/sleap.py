"""SLEAP files through ``sleap-io``: labels/predictions ``.slp`` (read and written) and the
analysis ``.h5`` export (read: SLEAP's ``sleap-convert --format analysis`` and movement's
``to_sleap_analysis_file`` write it).

In a ``.slp``: one video, the schema as the SLEAP skeleton (its name, nodes and edges), each
instance slot as a track ``instance_<n>`` so slots keep their order, predicted instances with
point scores. The video is named by its path relative to the ``.slp``'s own folder, with its
shape (frames, height, width, channels) and fps in the video's metadata, so SLEAP and sleap-io
find it from there and know its size without opening it. SLEAP's own format has no frame rate;
sleap-io keeps the fps in the video metadata, and infantpose also keeps it (with the frame
size, schema and frame numbers) in ``Labels.provenance["infantpose"]``.

Pixel centres and missing points follow :mod:`infantpose.io.conventions`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.io.conventions import (MISSING_SCORE, check_frames, file_points, poses_points,
                                       resolve_reference, video_reference)
from infantpose.poses import Poses

__all__ = ["is_sleap_analysis", "labels_to_poses", "poses_to_labels", "read_sleap_analysis",
           "read_slp", "write_slp"]

_TRACK = "instance_{}"


def _sleap_io() -> Any:
    try:
        # imported here: sleap-io loads only for .slp files
        import sleap_io
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(None, "SLEAP files need sleap-io (pip install sleap-io)") from None
    return sleap_io


def poses_to_labels(poses: Poses, folder: str | os.PathLike | None = None) -> Any:
    """A ``sleap_io.Labels`` of ``poses``: one video, the schema as skeleton, slots as tracks.

    ``folder``: where the ``.slp`` will live; the video path is written relative to it (None:
    the path as given). Missing keypoints are NaN points with score 0; instance slots that are
    empty in a frame are left out of that frame; frames with no instance keep an empty
    labelled frame.
    """
    sio = _sleap_io()
    s = poses.schema
    nodes = [sio.Node(name) for name in s.keypoints]
    skeleton = sio.Skeleton(nodes=nodes, edges=[sio.Edge(nodes[a], nodes[b])
                                                for a, b in s.edge_index], name=s.name)
    ref = (video_reference(poses.source, folder) if folder is not None else poses.source) \
        or "video"
    video = sio.Video(filename=ref, open_backend=False)
    n_frames = poses.meta.get("expected_frames")
    if poses.frame_size and isinstance(n_frames, int) and n_frames > 0:
        video.backend_metadata["shape"] = (n_frames, poses.frame_size[1], poses.frame_size[0], 3)
    if poses.fps:
        video.backend_metadata["fps"] = float(poses.fps)
    tracks = [sio.Track(_TRACK.format(n)) for n in range(poses.n_instances)]
    frames = poses.frame_index_array().astype(int)
    xy, conf = file_points(poses.data)
    present = np.isfinite(xy[..., 0]).any(axis=-1)
    lfs = []
    for i, fi in enumerate(frames):
        insts = []
        for n in np.flatnonzero(present[i]):
            ok = np.isfinite(xy[i, n, :, 0])
            insts.append(sio.PredictedInstance.from_numpy(
                xy[i, n], skeleton=skeleton, point_scores=conf[i, n],
                score=float(conf[i, n, ok].mean()), track=tracks[n]))
        lfs.append(sio.LabeledFrame(video=video, frame_idx=int(fi), instances=insts))
    labels = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skeleton], tracks=tracks)
    labels.provenance["infantpose"] = {
        "schema": s.name, "fps": poses.fps, "frame_indices": frames.tolist(),
        "frame_size": list(poses.frame_size) if poses.frame_size else None,
        "n_instances": poses.n_instances,
    }
    return labels


def labels_to_poses(labels: Any, path: str | os.PathLike,
                    frames: list[int] | None = None) -> Poses:
    """The :class:`Poses` of a ``sleap_io.Labels`` holding one video (InputError otherwise).

    The skeleton's node names pick the schema (as for COCO files, see
    :func:`~infantpose.io.coco.match_schema`); instances with a track named ``instance_<n>`` go to
    slot n, other tracks and untracked instances to the following slots. Predicted instances are
    used where a frame has them, else the user-labelled ones (score 1 per visible point).
    ``frames``: the frame numbers the file covers (default: those it records, else those with
    an instance). A relative video path is resolved from the file's folder.
    """
    # imported here: `infantpose --help` loads this module, and stays as lean as it was
    from infantpose.io.coco import match_schema

    sio = _sleap_io()
    if len(labels.videos) > 1:
        raise InputError(path, f"holds {len(labels.videos)} videos; infantpose reads one video "
                               "per file")
    if len(labels.skeletons) != 1:
        raise InputError(path, f"holds {len(labels.skeletons)} skeletons; expected one")
    sk = labels.skeletons[0]
    info = labels.provenance.get("infantpose") if isinstance(labels.provenance, dict) else None
    info = info if isinstance(info, dict) else {}
    schema = match_schema(list(sk.node_names), info.get("schema") or sk.name, path)
    order = np.asarray([schema.index(n) for n in sk.node_names], dtype=int)
    slot: dict[str, int] = {}
    for t in labels.tracks:
        name = str(t.name)
        if name.startswith("instance_") and name[9:].isdigit():
            slot[name] = int(name[9:])
    next_slot = max(slot.values(), default=-1) + 1
    for t in labels.tracks:
        if str(t.name) not in slot:
            slot[str(t.name)], next_slot = next_slot, next_slot + 1
    by_frame: dict[int, list[tuple[int | None, np.ndarray]]] = {}
    for lf in labels.labeled_frames:
        insts = lf.predicted_instances or lf.user_instances
        rows = by_frame.setdefault(int(lf.frame_idx), [])
        for inst in insts:
            pts = np.asarray(inst.numpy(), dtype=float)[:, :2]
            sc = (np.asarray(inst.points["score"], dtype=float)
                  if isinstance(inst, sio.PredictedInstance) else None)
            kp = np.full((schema.num_keypoints, 3), np.nan)
            kp[:, 2] = MISSING_SCORE
            kp[order] = poses_points(pts, sc)
            rows.append((slot.get(str(inst.track.name)) if inst.track is not None else None, kp))
    if frames is None:
        frames = info.get("frame_indices")
        if not (isinstance(frames, list) and set(by_frame) <= set(frames)):
            frames = sorted(by_frame)
    n = max(int(info.get("n_instances") or 0), next_slot,
            max((sum(1 for s_, _ in r if s_ is None) + next_slot for r in by_frame.values()),
                default=0))
    data = np.full((len(frames), n, schema.num_keypoints, 3), np.nan)
    data[..., 2] = MISSING_SCORE
    for i, fi in enumerate(frames):
        free = next_slot
        for s_, kp in by_frame.get(int(fi), []):
            if s_ is None:
                s_, free = free, free + 1
            data[i, s_] = kp
    video = labels.videos[0] if labels.videos else None
    meta_video = video.backend_metadata if video is not None else {}
    size = info.get("frame_size")
    shape = meta_video.get("shape")
    if not size and shape is not None and len(shape) == 4 and shape[1] and shape[2]:
        size = (int(shape[2]), int(shape[1]))
    fps = info.get("fps") or meta_video.get("fps")
    return Poses(data, schema,
                 source=resolve_reference(str(video.filename), path) if video is not None
                 else None,
                 frame_indices=np.asarray(frames, dtype=int),
                 fps=float(fps) if fps else None,
                 frame_size=tuple(size) if size else None,
                 meta={"format": "slp", "source_file": str(path)})


def write_slp(poses: Poses, path: str | os.PathLike,
              relative_to: str | os.PathLike | None = None) -> Path:
    """Write ``poses`` as a SLEAP ``.slp`` file (atomically) through sleap-io; the video is
    named relative to ``relative_to`` (default: the file's folder)."""
    sio = _sleap_io()
    check_frames(poses, path)
    labels = poses_to_labels(poses, Path(path).parent if relative_to is None else relative_to)
    with _atomic.atomic_path(path) as tmp:
        tmp.unlink()  # sleap-io writes HDF5 and refuses nothing; start from no file
        sio.save_slp(labels, str(tmp), verbose=False)
    return Path(path)


def read_slp(path: str | os.PathLike) -> Poses:
    """Read a SLEAP ``.slp`` file (one video) through sleap-io."""
    sio = _sleap_io()
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        labels = sio.load_slp(str(p), open_videos=False)
    except Exception as e:  # noqa: BLE001 - h5py/format errors of many kinds
        raise InputError(p, f"cannot read SLEAP file ({type(e).__name__}: {e})") from None
    return labels_to_poses(labels, p)


def is_sleap_analysis(path: str | os.PathLike) -> bool:
    """True for an HDF5 file in SLEAP's analysis layout (``tracks``, ``track_occupancy``)."""
    # imported here: h5py loads only when an .h5 file is looked at
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "tracks" in f and "track_occupancy" in f and "node_names" in f
    except OSError:
        return False


def read_sleap_analysis(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Read a SLEAP analysis ``.h5`` (tracks of every frame from 0) through sleap-io.

    Every row of the file is a frame (a frame where nobody was tracked stays, with every point
    missing); tracks become instance slots. The format has no frame rate unless sleap-io stored
    the video's: pass ``fps`` to keep the time axis.
    """
    # imported here: h5py loads only when an .h5 file is looked at
    import h5py

    sio = _sleap_io()
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with h5py.File(p, "r") as f:
            n_frames = int(f["track_occupancy"].shape[0])
        labels = sio.load_analysis_h5(str(p))
    except Exception as e:  # noqa: BLE001 - h5py/format errors of many kinds
        raise InputError(p, f"cannot read SLEAP analysis file ({type(e).__name__}: {e})") \
            from None
    labels.provenance.pop("infantpose", None)
    poses = labels_to_poses(labels, p, frames=list(range(n_frames)))
    if fps is not None:
        poses.fps = float(fps)
    poses.meta["format"] = "sleap-analysis"
    return poses
