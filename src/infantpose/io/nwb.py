"""NWB files with the ``ndx-pose`` extension, through ``pynwb`` + ``ndx-pose``.

Written so that the field's tools open them with their defaults (``movement``'s
``from_nwb_file(path)``, ``nwbinspector`` without CRITICAL or BEST_PRACTICE_VIOLATION findings):

* a ``behavior`` processing module holding a ``Skeletons`` container (the schema's nodes and
  edges) and one ``PoseEstimation`` per instance slot: ``PoseEstimation`` for slot 0 (the name
  ndx-pose gives it and movement looks for), ``PoseEstimation_instance_<n>`` for the others;
* in each, one ``PoseEstimationSeries`` per schema keypoint (all NaN where it was never seen),
  position in pixels and confidence, timed by ``starting_time`` + ``rate`` when the frames are
  consecutive, by ``timestamps`` (seconds, shared by the series of a container) when the reader
  skipped frames; frame numbers stand in for seconds when the fps is unknown;
* the source video, when it exists, as an external-file ``ImageSeries`` ``source_video`` in
  acquisition (its path relative to the NWB file, frame size, rate), linked from each
  ``PoseEstimation`` as ndx-pose 0.4 does, with a ``camera`` device. When the video is not
  where its path says at writing time, it is named in the older ndx-pose fields
  ``original_videos`` / ``dimensions`` (width, height) instead, as nwbinspector rejects an
  external file that does not exist;
* a ``Subject`` (NWB's required description of the individual): ``subject_id``, ``age`` (ISO
  8601 duration such as ``P12W``, or a range ``P10W/P14W``), ``sex`` (M, F, O or U) and species
  ``Homo sapiens``. Unknown values stay honest: id ``unknown``, age ``P0D/`` ("zero days or
  older": an open range, ISO 8601 as NWB extends it) and sex ``U``;
* the file ``identifier`` is the subject id when given, else ``instance_0`` (movement names the
  individual after it), and the session description, experimenter(s), institution and keywords
  come from :class:`NwbInfo`.

``session_start_time`` is the time the file is written: infantpose does not know when the video
was recorded (timestamps inside the file are seconds from the start of the video).

Pixel centres and missing points follow :mod:`infantpose.io.conventions` (0.5 px shift, NaN
position with confidence 0).
"""

from __future__ import annotations

import datetime
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.io.conventions import (MISSING_SCORE, check_frames, file_points, poses_points,
                                       resolve_reference, video_reference)
from infantpose.poses import Poses

__all__ = ["NwbInfo", "check_age", "read_nwb", "write_nwb"]

_MAIN = "PoseEstimation"
_SLOT = "PoseEstimation_instance_{}"
_REFERENCE_FRAME = ("(x, y) in pixels from the top-left of the video frame; the centre of the "
                    "top-left pixel is (0, 0), as in SLEAP and DeepLabCut.")
_DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_SEXES = {"m": "M", "male": "M", "f": "F", "female": "F", "o": "O", "other": "O", "u": "U",
          "unknown": "U"}


def check_age(age: str) -> str:
    """``age`` if it is an ISO 8601 duration (``P12W``, ``P1Y2M``, ``P3D``) or a range of two
    (``P10W/P14W``; either side may be empty), else InputError."""
    text = age.strip()
    parts = text.split("/") if "/" in text else [text]
    ok = len(parts) <= 2 and any(parts) and all(
        (not q and len(parts) == 2) or _DURATION.fullmatch(q) for q in parts)
    if not ok:
        raise InputError(None, f"--subject-age must be an ISO 8601 duration such as P12W (12 "
                               f"weeks), P3M10D or a range P10W/P14W, got {age!r}")
    return text


@dataclass
class NwbInfo:
    """What an NWB file says about the session and the infant (all optional, honest defaults).

    Attributes:
        subject_id: the infant's study code (never a name); ``unknown`` when not given.
        subject_age: ISO 8601 duration or range (see :func:`check_age`); ``P0D/`` when unknown.
        subject_sex: M, F, O (other) or U (unknown; also ``male``/``female``/...).
        session_description: free text (default: "infantpose keypoints of <video name>").
        experimenter: people who recorded or analysed the session ("Last, First").
        institution: where the session took place.
        keywords: searchable words (default: infant, pose estimation, infantpose).
    """

    subject_id: str | None = None
    subject_age: str | None = None
    subject_sex: str | None = None
    session_description: str | None = None
    experimenter: list[str] = field(default_factory=list)
    institution: str | None = None
    keywords: list[str] = field(default_factory=lambda: ["infant", "pose estimation",
                                                         "infantpose"])

    def check(self) -> NwbInfo:
        """Normalise the values (InputError for an age or sex NWB would not accept)."""
        if self.subject_id is not None:
            self.subject_id = self.subject_id.strip()
            if not self.subject_id or "/" in self.subject_id:
                raise InputError(None, f"--subject-id must be non-empty and without '/', got "
                                       f"{self.subject_id!r}")
        if self.subject_age is not None:
            self.subject_age = check_age(self.subject_age)
        if self.subject_sex is not None:
            sex = _SEXES.get(self.subject_sex.strip().lower())
            if sex is None:
                raise InputError(None, f"--subject-sex must be M, F, O (other) or U (unknown), "
                                       f"got {self.subject_sex!r}")
            self.subject_sex = sex
        self.experimenter = [e.strip() for e in self.experimenter if e and e.strip()]
        return self

    @classmethod
    def from_dict(cls, d: dict | None) -> NwbInfo:
        return cls(**(d or {})).check()


def _timing(frames: np.ndarray, fps: float | None) -> dict:
    """``starting_time`` + ``rate`` for consecutive frames, else ``timestamps`` (seconds)."""
    rate = float(fps) if fps else 1.0
    if len(frames) and np.all(np.diff(frames) == 1):
        return {"starting_time": float(frames[0]) / rate, "rate": rate}
    return {"timestamps": frames / rate}


def write_nwb(poses: Poses, path: str | os.PathLike, info: NwbInfo | None = None,
              relative_to: str | os.PathLike | None = None) -> Path:
    """Write ``poses`` as an NWB file with the ndx-pose extension (atomically).

    ``info``: subject and session metadata (:class:`NwbInfo`); ``relative_to``: the folder the
    file will live in (default: its own), from which the video path is written.
    """
    # imported here: pynwb and ndx-pose (h5py, pandas: seconds) load only for .nwb files
    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject
    from pynwb.image import ImageSeries

    info = (info or NwbInfo()).check()
    frames = check_frames(poses, path)
    folder = Path(path).parent if relative_to is None else Path(relative_to)
    s = poses.schema
    video_name = Path(poses.source).name if poses.source else "a video"
    subject = Subject(subject_id=info.subject_id or "unknown",
                      age=info.subject_age or "P0D/", sex=info.subject_sex or "U",
                      species="Homo sapiens",
                      description="infant" if info.subject_id else "infant (not identified)")
    nwb = NWBFile(session_description=info.session_description
                  or f"infantpose keypoints of {video_name}",
                  identifier=info.subject_id or "instance_0",
                  session_start_time=datetime.datetime.now(datetime.timezone.utc),
                  experimenter=info.experimenter or None, institution=info.institution,
                  keywords=info.keywords or None, subject=subject,
                  source_script="infantpose", source_script_file_name="infantpose")
    skeleton = Skeleton(name=s.name, nodes=list(s.keypoints),
                        edges=np.asarray(s.edge_index, dtype="uint8").reshape(-1, 2))
    behavior = nwb.create_processing_module(name="behavior",
                                            description="keypoints from infantpose")
    behavior.add(Skeletons(skeletons=[skeleton]))
    camera = nwb.create_device(name="camera", description="the camera that recorded "
                                                          f"{video_name}")
    source_video = None
    ref = video_reference(poses.source, folder)
    # normpath: the folder may not exist yet (predict writes into a staging folder first)
    if ref is not None and Path(os.path.normpath(folder / ref)).is_file() and poses.fps:
        n_video = poses.meta.get("expected_frames")
        n_video = n_video if isinstance(n_video, int) and n_video > 0 else \
            int(frames[-1]) + 1 if len(frames) else 0
        source_video = ImageSeries(
            name="source_video", description=f"the video the keypoints come from "
                                             f"({video_name})",
            external_file=[ref], starting_frame=[0], format="external", rate=float(poses.fps),
            dimension=list(poses.frame_size) if poses.frame_size else None, device=camera,
            num_samples=n_video)
        nwb.add_acquisition(source_video)
    timing = _timing(frames, poses.fps)
    xy, conf = file_points(poses.data)
    model = str(poses.meta.get("model", "infantpose"))
    for n in range(max(poses.n_instances, 1)):
        series: list = []
        for k, name in enumerate(s.keypoints):
            pos = xy[:, n, k] if n < poses.n_instances else np.full((len(frames), 2), np.nan)
            c = conf[:, n, k] if n < poses.n_instances else np.full(len(frames), MISSING_SCORE)
            t = timing if "rate" in timing or not series else {"timestamps": series[0]}
            series.append(PoseEstimationSeries(
                name=name, description=f"{name} of instance slot {n}", data=pos, unit="pixels",
                reference_frame=_REFERENCE_FRAME, confidence=c,
                confidence_definition="keypoint score of the model (0 where the keypoint is "
                                      "missing)", **t))
        kw: dict = {"source_video": source_video}
        if source_video is None:  # the video is not there: name it the older ndx-pose way
            kw = {"original_videos": [ref] if ref else None,
                  "dimensions": (np.array([poses.frame_size], dtype="uint16")
                                 if poses.frame_size else None)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            behavior.add(PoseEstimation(
                name=_MAIN if n == 0 else _SLOT.format(n), pose_estimation_series=series,
                description=f"keypoints of instance slot {n} ({s.name} schema) in {video_name}"
                            + ("" if poses.fps else "; time in frame numbers (fps unknown)"),
                scorer=model, source_software="infantpose", skeleton=skeleton, device=camera,
                **kw))
    with _atomic.atomic_path(path) as tmp:
        tmp.unlink()
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return Path(path)


def _slot_of(name: str) -> int | None:
    if name == _MAIN:
        return 0
    m = re.fullmatch(r"(?:PoseEstimation_)?instance_(\d+)", name)
    return int(m.group(1)) if m else None


def read_nwb(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Read the ndx-pose ``PoseEstimation`` containers of an NWB file into one :class:`Poses`.

    Each container is an instance slot (``PoseEstimation`` and ``PoseEstimation_instance_<n>``
    as written here, ``instance_<n>`` in older infantpose files; other files' containers in name
    order); its series give keypoints by name (the schema is found from the names). Frame
    numbers are ``round(time * fps)``; ``fps`` is the argument, else the series' ``rate``, else
    the shortest step between timestamps (the frame period when any two recorded frames are
    neighbours).
    """
    # imported here: pynwb (h5py, pandas: seconds) loads only for .nwb files
    from pynwb import NWBHDF5IO

    # imported here: `infantpose --help` loads this module, and stays as lean as it was
    from infantpose.io.coco import match_schema

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        io = NWBHDF5IO(str(p), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as e:  # noqa: BLE001 - h5py/hdmf errors of many kinds
        raise InputError(p, f"cannot read NWB file ({type(e).__name__}: {e})") from None
    try:
        found = [obj for module in nwb.processing.values()
                 for obj in module.data_interfaces.values()
                 if type(obj).__name__ == "PoseEstimation"]
        if not found:
            raise InputError(p, "no ndx-pose PoseEstimation in the file")
        found.sort(key=lambda c: c.name)
        per: list[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        names: list[str] = []
        declared = None
        rate = None
        for c in found:
            if c.skeleton is not None:
                declared = declared or c.skeleton.name
                names += [str(x) for x in c.skeleton.nodes[:] if str(x) not in names]
            series = {}
            for name, ser in c.pose_estimation_series.items():
                xy = np.asarray(ser.data[:], float)
                if xy.ndim != 2 or xy.shape[1] < 2:
                    raise InputError(p, f"series {name!r} is not (time, x/y)")
                if xy.shape[1] > 2:
                    raise InputError(p, f"series {name!r} holds 3-D points; infantpose reads "
                                        "2-D keypoints")
                if ser.timestamps is not None:
                    t = np.asarray(ser.timestamps[:], float)
                else:
                    rate = rate or float(ser.rate)
                    t = (ser.starting_time or 0.0) + np.arange(len(xy)) / float(ser.rate)
                conf = (np.asarray(ser.confidence[:], float) if ser.confidence is not None
                        else None)
                series[str(name)] = (t, xy, conf)
                if str(name) not in names:
                    names.append(str(name))
            per.append(series)
        source = dims = None
        for c in found:
            sv = getattr(c, "source_video", None)
            if sv is not None and sv.external_file is not None and len(sv.external_file):
                source = source or sv.external_file[0]
                if dims is None and sv.dimension is not None and len(sv.dimension) >= 2:
                    dims = [int(v) for v in sv.dimension[:2]]
            if c.original_videos is not None and len(c.original_videos):
                source = source or c.original_videos[0]
            if dims is None and c.dimensions is not None and len(c.dimensions):
                dims = [int(v) for v in c.dimensions[0]]
        source = source.decode() if isinstance(source, bytes) else source
    finally:
        io.close()
    schema = match_schema(names, declared, p)
    all_t = np.unique(np.concatenate([t for s in per for t, _, _ in s.values()]))
    if fps is None:
        fps = rate
    if fps is None:
        steps = np.diff(all_t)
        steps = steps[steps > 0]
        # the shortest step is one frame when any two recorded frames are neighbours; rounding
        # to 1e-6 removes the float noise of 1 / (1 / fps)
        fps = round(float(1.0 / steps.min()), 6) if steps.size else None
    step = fps or 1.0
    frames = np.round(all_t * step).astype(int)
    if len(frames) > 1 and np.any(np.diff(frames) <= 0):
        raise InputError(p, f"timestamps do not fall on distinct frames at {step:g} fps")
    slots = [_slot_of(c.name) for c in found]
    if None in slots or len(set(slots)) != len(slots):
        slots = list(range(len(found)))  # containers of other tools: in name order
    data = np.full((len(frames), max(slots) + 1, schema.num_keypoints, 3), np.nan)
    data[..., 2] = MISSING_SCORE
    for n, series in zip(slots, per):
        for name, (t, xy, conf) in series.items():
            rows = np.searchsorted(all_t, t)
            data[rows, n, schema.index(name)] = poses_points(xy[:, :2], conf)
    size = (int(dims[0]), int(dims[1])) if dims is not None and len(dims) >= 2 else None
    # a fps of 1 with time in frame numbers is infantpose's "fps unknown"
    return Poses(data, schema, source=resolve_reference(source, p), frame_indices=frames,
                 fps=float(fps) if fps else None, frame_size=size,
                 meta={"format": "nwb", "source_file": str(p)})
