"""Pose files of the field's tools: SLEAP ``.slp``, NWB (ndx-pose), DeepLabCut predictions CSV
and a ``movement`` dataset.

Downstream tools of this field read these, so predictions (a video's :class:`Poses`) go out, and
come back, through the libraries that define the formats instead of hand-written code:

* **SLEAP** ``.slp``: through ``sleap-io`` (``sio.Labels``): one video, the schema as the SLEAP
  skeleton (its name, nodes and edges), each instance slot as a track ``instance_<n>`` so slots
  keep their order, predicted instances with point scores.
* **NWB** ``.nwb`` with the ``ndx-pose`` extension: through ``pynwb`` + ``ndx-pose`` (installed
  with sleap-io). One ``PoseEstimation`` per instance slot, one ``PoseEstimationSeries`` per
  keypoint with explicit timestamps (frame / fps), and the skeleton. sleap-io's own NWB writer is
  not used: in sleap-io 0.9.5 it stores a uniform series with ``rate = int(fps)`` (29.97 fps
  becomes 29 Hz), fails on frames with gaps unless given timestamps, and its reader drops the
  tracks and renumbers frames. Written timestamps make the time axis exact for any fps and for
  skipped frames.
* **movement** (neuroinformatics-unit) dataset: an ``xarray.Dataset`` in movement's poses layout
  (``position`` (time, space, keypoints, individuals), ``confidence`` (time, keypoints,
  individuals), ``time`` in seconds, attributes ``fps``, ``source_software``,
  ``source_file``); ``.nc`` files are written with ``to_netcdf`` and open with
  ``movement.io.load_dataset`` / ``xarray.open_dataset``. Needs the ``movement`` extra (xarray).
* **DeepLabCut** predictions CSV (``x, y, likelihood`` per body part, one row per frame):
  :mod:`infantpose.io.dlc` (written with pandas as DeepLabCut itself does; sleap-io's DeepLabCut
  writer leaves the likelihood empty).

Coordinates: infantpose puts the centre of the top-left pixel at (0.5, 0.5) (an image spans
[0, W] × [0, H]); SLEAP and sleap-io's NWB files put it at (0, 0). Writers subtract 0.5 and readers
add it back, so keypoints sit on the same pixels in every tool. movement keeps the SLEAP/DeepLabCut
convention too.

Frame numbers travel with the data (SLEAP ``frame_idx``, NWB timestamps, movement ``time``), so
frames a reader skipped stay skipped, with the time they lasted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["POSE_FORMATS", "PIXEL_CENTRE_SHIFT", "READABLE", "labels_to_poses", "pose_format",
           "poses_to_labels", "read_nwb", "read_pose_file", "read_slp", "to_movement",
           "write_movement", "write_nwb", "write_pose_file", "write_slp"]

#: infantpose x, y minus this = SLEAP / NWB / movement x, y (pixel centres on whole numbers there).
PIXEL_CENTRE_SHIFT = 0.5

#: format name -> file extension, for ``convert --to`` and ``predict --format``.
POSE_FORMATS = {"json": ".json", "csv": ".csv", "slp": ".slp", "nwb": ".nwb", "movement": ".nc",
                "dlc": ".csv"}
#: Formats :func:`read_pose_file` reads (``.csv`` only as DeepLabCut predictions).
READABLE = ("json", "slp", "nwb", "dlc")

_TRACK = "instance_{}"


def pose_format(path: str | os.PathLike) -> str:
    """The pose format a file name implies (see :data:`POSE_FORMATS`); InputError if none."""
    suffix = Path(path).suffix.lower()
    for name, ext in POSE_FORMATS.items():
        if suffix == ext:
            return name
    raise InputError(path, f"unknown pose file type {suffix or '(none)'}; expected one of "
                           f"{', '.join(POSE_FORMATS.values())}")


def _sleap_io() -> Any:
    try:
        import sleap_io
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(None, "SLEAP and NWB files need sleap-io (pip install sleap-io)") \
            from None
    return sleap_io


def _instance_rows(poses: Poses) -> tuple[np.ndarray, np.ndarray]:
    """(frame numbers, (F, N) mask of instance slots that hold any keypoint)."""
    present = np.isfinite(poses.data[..., 0]).any(axis=-1)
    return poses.frame_index_array().astype(int), present


def _check_frames(poses: Poses, path: str | os.PathLike) -> None:
    idx = poses.frame_index_array()
    if len(idx) > 1 and np.any(np.diff(idx) <= 0):
        raise InputError(path, "frame numbers must be strictly increasing to write a pose file")


# --- SLEAP (.slp) through sleap-io ---------------------------------------------------------------
def poses_to_labels(poses: Poses) -> Any:
    """A ``sleap_io.Labels`` of ``poses``: one video, the schema as skeleton, slots as tracks.

    Missing keypoints are NaN points (not visible); instance slots that are empty in a frame are
    left out of that frame; frames with no instance keep an empty labelled frame. fps, frame
    size, schema name and the frame numbers are kept in ``Labels.provenance["infantpose"]``.
    """
    sio = _sleap_io()
    s = poses.schema
    nodes = [sio.Node(name) for name in s.keypoints]
    skeleton = sio.Skeleton(nodes=nodes, edges=[sio.Edge(nodes[a], nodes[b])
                                                for a, b in s.edge_index], name=s.name)
    video = sio.Video(filename=str(poses.source or "video"), open_backend=False)
    tracks = [sio.Track(_TRACK.format(n)) for n in range(poses.n_instances)]
    frames, present = _instance_rows(poses)
    lfs = []
    for i, fi in enumerate(frames):
        insts = []
        for n in np.flatnonzero(present[i]):
            d = poses.data[i, n]
            ok = np.isfinite(d[:, 0])
            insts.append(sio.PredictedInstance.from_numpy(
                d[:, :2] - PIXEL_CENTRE_SHIFT, skeleton=skeleton,
                point_scores=np.where(ok, d[:, 2], 0.0),
                score=float(d[ok, 2].mean()) if ok.any() else 0.0, track=tracks[n]))
        lfs.append(sio.LabeledFrame(video=video, frame_idx=int(fi), instances=insts))
    labels = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skeleton], tracks=tracks)
    labels.provenance["infantpose"] = {
        "schema": s.name, "fps": poses.fps, "frame_indices": frames.tolist(),
        "frame_size": list(poses.frame_size) if poses.frame_size else None,
        "n_instances": poses.n_instances,
    }
    return labels


def _schema_of(names: list[str], declared: str | None, path: str | os.PathLike) -> Schema:
    from infantpose.io.coco import match_schema

    return match_schema(names, declared, path)


def labels_to_poses(labels: Any, path: str | os.PathLike) -> Poses:
    """The :class:`Poses` of a ``sleap_io.Labels`` holding one video (InputError otherwise).

    The skeleton's node names pick the schema (as for COCO files, see
    :func:`~infantpose.io.coco.match_schema`); instances with a track named ``instance_<n>`` go to
    slot n, other tracks and untracked instances to the following slots. Predicted instances are
    used where a frame has them, else the user-labelled ones (score 1 per visible point).
    """
    sio = _sleap_io()
    if len(labels.videos) > 1:
        raise InputError(path, f"holds {len(labels.videos)} videos; infantpose reads one video "
                               "per file")
    if len(labels.skeletons) != 1:
        raise InputError(path, f"holds {len(labels.skeletons)} skeletons; expected one")
    sk = labels.skeletons[0]
    info = labels.provenance.get("infantpose") if isinstance(labels.provenance, dict) else None
    info = info if isinstance(info, dict) else {}
    schema = _schema_of(list(sk.node_names), info.get("schema") or sk.name, path)
    order = [schema.index(n) for n in sk.node_names]
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
            pts = np.asarray(inst.numpy(), dtype=float)[:, :2] + PIXEL_CENTRE_SHIFT
            if isinstance(inst, sio.PredictedInstance):
                sc = np.asarray(inst.points["score"], dtype=float)
            else:
                sc = np.ones(len(pts))
            kp = np.full((schema.num_keypoints, 3), np.nan)
            kp[:, 2] = 0.0
            ok = np.isfinite(pts).all(axis=1)
            kp[np.asarray(order)[ok], :2] = pts[ok]
            kp[np.asarray(order)[ok], 2] = sc[ok]
            rows.append((slot.get(str(inst.track.name)) if inst.track is not None else None, kp))
    frames = info.get("frame_indices")
    if not (isinstance(frames, list) and set(by_frame) <= set(frames)):
        frames = sorted(by_frame)
    n = max(int(info.get("n_instances") or 0), next_slot,
            max((sum(1 for s_, _ in r if s_ is None) + next_slot for r in by_frame.values()),
                default=0))
    data = np.full((len(frames), n, schema.num_keypoints, 3), np.nan)
    data[..., 2] = 0.0
    for i, fi in enumerate(frames):
        free = next_slot
        for s_, kp in by_frame.get(int(fi), []):
            if s_ is None:
                s_, free = free, free + 1
            data[i, s_] = kp
    size = info.get("frame_size")
    fps = info.get("fps")
    video = labels.videos[0] if labels.videos else None
    return Poses(data, schema, source=str(video.filename) if video is not None else None,
                 frame_indices=np.asarray(frames, dtype=int),
                 fps=float(fps) if fps else None,
                 frame_size=tuple(size) if size else None,
                 meta={"format": "slp", "source_file": str(path)})


def write_slp(poses: Poses, path: str | os.PathLike) -> Path:
    """Write ``poses`` as a SLEAP ``.slp`` file (atomically) through sleap-io."""
    sio = _sleap_io()
    _check_frames(poses, path)
    labels = poses_to_labels(poses)
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


# --- NWB (ndx-pose) ------------------------------------------------------------------------------
_REFERENCE_FRAME = ("(x, y) in pixels from the top-left of the video frame; the centre of the "
                    "top-left pixel is (0, 0), as in SLEAP and DeepLabCut.")


def write_nwb(poses: Poses, path: str | os.PathLike, session_description: str | None = None
              ) -> Path:
    """Write ``poses`` as an NWB file with the ndx-pose extension (atomically).

    One ``PoseEstimation`` per instance slot that holds anyone (``instance_<n>``) in a
    ``behavior`` processing module, one ``PoseEstimationSeries`` per keypoint that has any point,
    over every recorded frame (NaN where the point is missing), with explicit timestamps
    ``frame / fps`` (seconds; frame numbers when the fps is unknown), confidences, and the
    skeleton (nodes and edges of the schema) in a ``Skeletons`` container.
    """
    import datetime
    import uuid

    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile

    _check_frames(poses, path)
    s = poses.schema
    frames, present = _instance_rows(poses)
    rate = float(poses.fps) if poses.fps else 1.0
    times = frames / rate
    nwb = NWBFile(session_description=session_description or f"infantpose poses of "
                                                             f"{poses.source or 'a video'}",
                  identifier=str(uuid.uuid4()),
                  session_start_time=datetime.datetime.now(datetime.timezone.utc))
    skeleton = Skeleton(name=s.name, nodes=list(s.keypoints),
                        edges=np.asarray(s.edge_index, dtype="uint8").reshape(-1, 2))
    behavior = nwb.create_processing_module(name="behavior",
                                            description="keypoints from infantpose")
    behavior.add(Skeletons(skeletons=[skeleton]))
    camera = nwb.create_device(name="camera", description=str(poses.source or "video"))
    for n in range(poses.n_instances):
        if not present[:, n].any():
            continue
        series = []
        for k, name in enumerate(s.keypoints):
            d = poses.data[:, n, k]
            if not np.isfinite(d[:, 0]).any():
                continue
            # every recorded frame, NaN where the point is missing: a frame that was read but
            # showed nobody stays a frame (frames the reader skipped have no timestamp)
            series.append(PoseEstimationSeries(
                name=name, description=f"{name} of instance {n}",
                data=d[:, :2] - PIXEL_CENTRE_SHIFT, unit="pixels",
                reference_frame=_REFERENCE_FRAME, timestamps=times,
                confidence=np.where(np.isfinite(d[:, 0]), d[:, 2], np.nan),
                confidence_definition="keypoint score"))
        if not series:
            continue
        behavior.add(PoseEstimation(
            name=_TRACK.format(n), pose_estimation_series=series,
            description=f"instance slot {n}; fps {poses.fps}; schema {s.name}",
            original_videos=[str(poses.source or "video")],
            dimensions=(np.array([[poses.frame_size[1], poses.frame_size[0]]], dtype="uint16")
                        if poses.frame_size else None),
            scorer=str(poses.meta.get("model", "infantpose")), source_software="infantpose",
            skeleton=skeleton, devices=[camera]))
    with _atomic.atomic_path(path) as tmp:
        tmp.unlink()
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return Path(path)


def read_nwb(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Read the ndx-pose ``PoseEstimation`` containers of an NWB file into one :class:`Poses`.

    Each container is an instance slot (``instance_<n>`` as written here; other files' containers
    in name order); its series give keypoints by name (the schema is found from the names). Frame numbers are ``round(timestamp * fps)``; ``fps`` is
    taken from the argument, else from the shortest step between timestamps (the frame period
    when any two recorded frames are neighbours).
    """
    from pynwb import NWBHDF5IO

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        io = NWBHDF5IO(str(p), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as e:  # noqa: BLE001 - h5py/hdmf errors of many kinds
        raise InputError(p, f"cannot read NWB file ({type(e).__name__}: {e})") from None
    try:
        found = []
        for module in nwb.processing.values():
            for obj in module.data_interfaces.values():
                if type(obj).__name__ == "PoseEstimation":
                    found.append(obj)
        if not found:
            raise InputError(p, "no ndx-pose PoseEstimation in the file")
        found.sort(key=lambda c: c.name)
        per: list[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        names: list[str] = []
        declared = None
        for c in found:
            if c.skeleton is not None:
                declared = declared or c.skeleton.name
                names += [str(x) for x in c.skeleton.nodes[:] if str(x) not in names]
            series = {}
            for name, ser in c.pose_estimation_series.items():
                t = (np.asarray(ser.timestamps[:], float) if ser.timestamps is not None else
                     ser.starting_time + np.arange(len(ser.data)) / ser.rate)
                conf = (np.asarray(ser.confidence[:], float) if ser.confidence is not None
                        else np.ones(len(t)))
                series[str(name)] = (t, np.asarray(ser.data[:], float)[:, :2], conf)
                if str(name) not in names:
                    names.append(str(name))
            per.append(series)
        video = next((str(c.original_videos[0]) for c in found
                      if c.original_videos is not None and len(c.original_videos)), None)
        dims = next((c.dimensions[:] for c in found if c.dimensions is not None), None)
    finally:
        io.close()
    schema = _schema_of(names, declared, p)
    all_t = np.unique(np.concatenate([t for s in per for t, _, _ in s.values()]))
    if fps is None:
        steps = np.diff(all_t)
        steps = steps[steps > 0]
        # the shortest step is one frame when any two recorded frames are neighbours; rounding
        # to 1e-6 removes the float noise of 1 / (1 / fps)
        fps = round(float(1.0 / steps.min()), 6) if steps.size else None
    rate = fps or 1.0
    frames = np.round(all_t * rate).astype(int)
    if len(frames) > 1 and np.any(np.diff(frames) <= 0):
        raise InputError(p, f"timestamps do not fall on distinct frames at {rate:g} fps")
    slots = []
    for c in found:
        tail = c.name[9:] if c.name.startswith("instance_") else ""
        slots.append(int(tail) if tail.isdigit() else None)
    if None in slots or len(set(slots)) != len(slots):
        slots = list(range(len(found)))  # containers of other tools: in name order
    data = np.full((len(frames), max(slots) + 1, schema.num_keypoints, 3), np.nan)
    data[..., 2] = 0.0
    for n, series in zip(slots, per):
        for name, (t, xy, conf) in series.items():
            rows = np.searchsorted(all_t, t)
            ok = np.isfinite(xy).all(axis=1)
            k = schema.index(name)
            data[rows[ok], n, k, :2] = xy[ok] + PIXEL_CENTRE_SHIFT
            data[rows[ok], n, k, 2] = np.nan_to_num(conf[ok], nan=1.0)
    size = (int(dims[0][1]), int(dims[0][0])) if dims is not None and len(dims) else None
    return Poses(data, schema, source=video, frame_indices=frames,
                 fps=float(fps) if fps else None, frame_size=size,
                 meta={"format": "nwb", "source_file": str(p)})


# --- movement (xarray) ---------------------------------------------------------------------------
def to_movement(poses: Poses) -> Any:
    """The poses as a ``movement`` poses dataset (``xarray.Dataset``).

    Dimensions follow movement: ``position`` (time, space, keypoints, individuals) with space
    ``x, y``, ``confidence`` (time, keypoints, individuals); ``time`` is in seconds (frame / fps)
    when the fps is known, else frame numbers. Attributes: ``fps``, ``time_unit``,
    ``source_software`` ("infantpose"), ``source_file``, ``ds_type`` ("poses"). Individuals are
    ``instance_<n>``. Needs xarray (the ``movement`` extra).
    """
    try:
        import xarray as xr
    except ImportError:
        raise InputError(None, "the movement export needs xarray: pip install "
                               "'infantpose[movement]'") from None
    frames = poses.frame_index_array()
    seconds = bool(poses.fps)
    time = frames / float(poses.fps) if seconds else frames.astype(float)
    pos = (poses.data[..., :2] - PIXEL_CENTRE_SHIFT).transpose(0, 3, 2, 1)  # F, 2, K, N
    conf = poses.data[..., 2].transpose(0, 2, 1)  # F, K, N
    conf = np.where(np.isfinite(poses.data[..., 0]).transpose(0, 2, 1), conf, np.nan)
    individuals = [_TRACK.format(n) for n in range(poses.n_instances)]
    return xr.Dataset(
        {"position": (("time", "space", "keypoints", "individuals"), pos),
         "confidence": (("time", "keypoints", "individuals"), conf)},
        coords={"time": time, "space": ["x", "y"], "keypoints": list(poses.schema.keypoints),
                "individuals": individuals},
        attrs={"fps": float(poses.fps) if poses.fps else None,
               "time_unit": "seconds" if seconds else "frames",
               "source_software": "infantpose", "source_file": str(poses.source or ""),
               "ds_type": "poses", "schema": poses.schema.name})


def write_movement(poses: Poses, path: str | os.PathLike) -> Path:
    """Write :func:`to_movement` as a netCDF file (atomically); opens with ``xarray``/movement."""
    ds = to_movement(poses)
    ds.attrs = {k: v for k, v in ds.attrs.items() if v is not None}  # netCDF has no null
    with _atomic.atomic_path(path) as tmp:
        tmp.unlink()
        try:
            ds.to_netcdf(tmp)
        except (ImportError, ValueError) as e:
            raise InputError(path, f"cannot write netCDF ({e}); pip install "
                                   "'infantpose[movement]'") from None
    return Path(path)


# --- dispatch ------------------------------------------------------------------------------------
def read_pose_file(path: str | os.PathLike) -> Poses:
    """Read predictions from an infantpose poses ``.json``, SLEAP ``.slp``, NWB ``.nwb`` or
    DeepLabCut predictions ``.csv``."""
    fmt = pose_format(path)
    if fmt == "json":
        return Poses.load_json(path)
    if fmt == "slp":
        return read_slp(path)
    if fmt == "nwb":
        return read_nwb(path)
    if fmt == "csv":
        from infantpose.io.dlc import is_dlc_csv, read_dlc_predictions

        if Path(path).is_file() and is_dlc_csv(path):
            return read_dlc_predictions(path)
        if not Path(path).is_file():
            raise InputError(path, "no such file")
        raise InputError(path, "not a DeepLabCut predictions CSV; infantpose's tidy keypoint "
                               "tables are written, not read (convert the poses .json)")
    raise InputError(path, f"{fmt} files are written, not read, by infantpose")


def write_pose_file(poses: Poses, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write ``poses`` in ``fmt`` (default: from the file extension, see :data:`POSE_FORMATS`)."""
    fmt = fmt or pose_format(path)
    if fmt == "json":
        return poses.save_json(path)
    if fmt == "csv":
        return poses.to_csv(path)
    if fmt == "slp":
        return write_slp(poses, path)
    if fmt == "nwb":
        return write_nwb(poses, path)
    if fmt == "movement":
        return write_movement(poses, path)
    if fmt == "dlc":
        from infantpose.io.dlc import write_dlc_predictions

        return write_dlc_predictions(poses, path)
    raise InputError(path, f"unknown pose format {fmt!r}; choose from {', '.join(POSE_FORMATS)}")

