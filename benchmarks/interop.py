"""Do the field's own tools open infantpose's pose files with their defaults, and does
infantpose read theirs? Prints a markdown table of pass/fail and max coordinate error.

Needs an optional environment with the peers' packages besides infantpose's io dependencies
(not the project's venv: movement pulls opencv-python-headless, which replaces our cv2)::

    python3.11 -m venv /tmp/peers && /tmp/peers/bin/pip install movement nwbinspector
    PYTHONPATH=src /tmp/peers/bin/python benchmarks/interop.py > benchmarks/results/interop.md

**Forward**: infantpose writes every pose format of a synthetic 30-frame infant22 video (one
infant, a frame where nobody was found, missing points, a keypoint never seen, 29.97 fps, a
real 64×48 video file beside it); each file is loaded with the peer's default call
(movement's ``load_dataset``, sleap-io's ``load_slp``, xarray + movement's validator for
``.nc``, nwbinspector's ``inspect_nwbfile``). **Reverse**: movement (``save_poses``:
``to_dlc_file`` single and multi-animal, ``.csv`` and ``.h5``, ``to_sleap_analysis_file``,
``to_nwb_file``, ``to_netcdf``) and sleap-io (``save_slp``) write the same poses and
``infantpose.load_poses`` reads them. The error is the largest |x, y difference| over every
point, after the 0.5 px pixel-centre shift; "missing" says whether exactly the same points
are missing on both sides.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

FPS = 29.97
N_FRAMES = 30
SIZE = (64, 48)
#: pass: coordinates within this many px (sleap-io's Labels.numpy(), and so movement, hand out
#: .slp points as float32: ~2e-6 px at 64 px; the file itself holds float64)
TOL = 1e-5


def make_poses():
    """The synthetic video's poses (infant22, one infant) and its video file."""
    from infantpose.poses import Poses
    from infantpose.schemas import get_schema

    s = get_schema("infant22")
    rng = np.random.default_rng(22)
    data = np.empty((N_FRAMES, 1, s.num_keypoints, 3))
    data[..., 0] = rng.uniform(0.5, SIZE[0] - 0.5, data.shape[:-1])
    data[..., 1] = rng.uniform(0.5, SIZE[1] - 0.5, data.shape[:-1])
    data[..., 2] = rng.uniform(0.05, 1.0, data.shape[:-1])
    data[5, 0, 3] = [np.nan, np.nan, 0.0]           # one missing point
    data[12, 0] = [np.nan, np.nan, 0.0]             # nobody found in frame 12
    data[:, 0, s.index("vertex")] = [np.nan, np.nan, 0.0]  # never seen
    return Poses(data, s, source="clip.mp4", frame_indices=np.arange(N_FRAMES), fps=FPS,
                 frame_size=SIZE, meta={"model": "synthetic", "expected_frames": N_FRAMES})


def write_video(path: Path) -> None:
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for i in range(N_FRAMES):
        w.write(np.full((SIZE[1], SIZE[0], 3), 8 * (i % 30), np.uint8))
    w.release()


def file_xy(poses) -> np.ndarray:
    """(frames, individuals, keypoints, 2) in the peers' convention (pixel centres at 0)."""
    return poses.data[..., :2] - 0.5


def compare(expected: np.ndarray, got: np.ndarray) -> tuple[float, bool]:
    """(max |difference| over points both have, same points missing)."""
    if expected.shape != got.shape:
        return float("inf"), False
    same_missing = bool(np.array_equal(np.isnan(expected), np.isnan(got)))
    both = ~np.isnan(expected) & ~np.isnan(got)
    err = float(np.abs(expected[both] - got[both]).max()) if both.any() else 0.0
    return err, same_missing


NAMES: list[str] = []


def movement_xy(ds) -> np.ndarray:
    """A movement dataset's positions as (frames, individuals, keypoints, 2), keypoints in the
    schema's order (movement's NWB loader sorts them by name)."""
    pos = ds.position.sel(keypoints=NAMES) if NAMES else ds.position
    return pos.transpose("time", "individuals", "keypoints", "space").values


def forward(poses, folder: Path) -> list[tuple[str, str, str, float, bool, str]]:
    """infantpose writes, the peers load with their defaults."""
    import sleap_io as sio
    import xarray as xr
    from movement.io import load_dataset
    from movement.validators.datasets import ValidPosesInputs
    from nwbinspector import Importance, inspect_nwbfile

    from infantpose import save_poses

    rows = []
    want = file_xy(poses)

    def run(fmt: str, how: str, fn) -> None:
        try:
            got, note = fn()
            if got is None:  # a check of the file itself (nwbinspector), not of coordinates
                rows.append((fmt, how, "pass", float("nan"), None, note))
                return
            err, missing = compare(want, got)
            rows.append((fmt, how, "pass" if err < TOL and missing else "FAIL", err, missing,
                         note))
        except Exception as e:  # noqa: BLE001 - a row per failure
            rows.append((fmt, how, "FAIL", float("nan"), False,
                         f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"))

    paths = {fmt: folder / name for fmt, name in (
        ("slp", "keypoints.slp"), ("nwb", "keypoints.nwb"), ("movement", "keypoints.nc"),
        ("dlc", "keypoints_dlc.csv"))}
    for fmt, path in paths.items():
        save_poses(poses, path, format=fmt)

    def slp_sleap_io():
        here = os.getcwd()
        os.chdir(folder)  # the video reference must resolve from the file's own folder
        try:
            labels = sio.load_slp(paths["slp"].name)
            v = labels.videos[0]
            assert v.exists(), f"video {v.filename} not found from the .slp's folder"
            note = (f"video {v.filename} found, shape {tuple(v.shape)}, fps {v.fps:g}; "
                    "Labels.numpy() is float32")
        finally:
            os.chdir(here)
        arr = labels.numpy()  # (frames, tracks, nodes, 2)
        return arr, note

    run(".slp", "sleap_io.load_slp", slp_sleap_io)
    run(".slp", "movement load_dataset(SLEAP)",
        lambda: (movement_xy(load_dataset(paths["slp"], "SLEAP", fps=FPS)),
                 "float32 through sleap-io's Labels.numpy()"))

    def nwb_movement():
        ds = load_dataset(paths["nwb"], "NWB")
        return movement_xy(ds), (f"individual {ds.individuals.values.tolist()}, fps "
                                 f"{ds.attrs.get('fps')}, {ds.sizes['keypoints']} keypoints")

    run(".nwb", "movement load_dataset(NWB)", nwb_movement)

    def nwb_inspector():
        return nwb_inspector_of(paths["nwb"])

    def nwb_inspector_of(path):
        msgs = list(inspect_nwbfile(nwbfile_path=str(path)))
        bad = [m for m in msgs if m.importance in (Importance.CRITICAL,
                                                   Importance.BEST_PRACTICE_VIOLATION)]
        if bad:
            raise AssertionError("; ".join(f"{m.importance.name} {m.check_function_name}"
                                           for m in bad[:3]))
        kinds = sorted({m.check_function_name for m in msgs})
        return None, (f"no CRITICAL, no BEST_PRACTICE_VIOLATION; {len(msgs)} suggestion(s)"
                      + (f": {', '.join(kinds)}" if kinds else ""))

    run(".nwb", "nwbinspector inspect_nwbfile", nwb_inspector)

    def nwb_inspector_gaps():
        """Two instance slots, frames 10-14 skipped by the decoder, subject options given."""
        from infantpose.poses import Poses

        keep = np.r_[0:10, 15:N_FRAMES]
        data = np.concatenate([poses.data, poses.data[:, :, ::-1]], axis=1)[keep]
        gapped = Poses(data, poses.schema, source=poses.source, frame_indices=keep, fps=FPS,
                       frame_size=SIZE, meta=dict(poses.meta))
        path = folder / "gaps.nwb"
        save_poses(gapped, path, subject_id="inf07", subject_age="P12W", subject_sex="F",
                   experimenter=["Doe, Jane"], institution="Clinic")
        return nwb_inspector_of(path)

    run(".nwb (2 slots, skipped frames, subject given)", "nwbinspector inspect_nwbfile",
        nwb_inspector_gaps)

    def nc_movement():
        with xr.open_dataset(paths["movement"]) as ds:
            ds = ds.load()
        ValidPosesInputs.validate(ds)
        return movement_xy(ds), "movement's ValidPosesInputs passes"

    run(".nc", "xarray.open_dataset + movement validator", nc_movement)
    run("DLC .csv", "movement load_dataset(DeepLabCut)",
        lambda: (movement_xy(load_dataset(paths["dlc"], "DeepLabCut", fps=FPS)), ""))
    return rows


def reverse(poses, folder: Path) -> list[tuple[str, str, str, float, bool, str]]:
    """movement / sleap-io write, infantpose reads (``infantpose.load_poses``)."""
    import sleap_io as sio
    from movement.io import load_poses, save_poses
    from pynwb import NWBHDF5IO

    from infantpose import load_poses as ip_load
    from infantpose.io.posefiles import read_pose_file
    from infantpose.io.sleap import poses_to_labels

    xy = file_xy(poses)  # (F, N, K, 2)
    conf = np.where(np.isnan(xy[..., 0]), np.nan, poses.data[..., 2])
    names = list(poses.schema.keypoints)
    one = load_poses.from_numpy(xy.transpose(0, 3, 2, 1), conf.transpose(0, 2, 1),
                                individual_names=["infant"], keypoint_names=names, fps=FPS,
                                source_software="test")
    two_xy = np.concatenate([xy, xy[:, :, ::-1] + 1.0], axis=1)  # a second individual
    two_conf = np.concatenate([conf, conf[:, :, ::-1]], axis=1)
    two = load_poses.from_numpy(two_xy.transpose(0, 3, 2, 1), two_conf.transpose(0, 2, 1),
                                individual_names=["infant", "adult"], keypoint_names=names,
                                fps=FPS, source_software="test")
    rows = []

    def run(fmt: str, how: str, path: Path, want: np.ndarray, write) -> None:
        try:
            write(path)
            if not path.exists():  # movement splits single individuals into <stem>_<name>
                path = next(folder.glob(f"{path.stem}_*{path.suffix}"))
            # DeepLabCut and SLEAP analysis files hold no frame rate: give it, as a user would
            p = ip_load(path) if path.suffix in (".nwb", ".nc", ".slp") \
                else read_pose_file(path, fps=FPS)
            got = p.data[..., :2] - 0.5
            err, missing = compare(want, got)
            note = f"{p.n_frames} frames, {p.n_instances} slot(s), fps {p.fps:g}, schema " \
                   f"{p.schema.name}"
            ok = err < TOL and missing and p.fps and abs(p.fps - FPS) < 1e-6
            rows.append((fmt, how, "pass" if ok else "FAIL", err, missing, note))
        except Exception as e:  # noqa: BLE001 - a row per failure
            rows.append((fmt, how, "FAIL", float("nan"), False,
                         f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"))

    run("DLC .csv", "movement to_dlc_file (single animal)", folder / "m_single.csv", xy,
        lambda p: save_poses.to_dlc_file(one, p))
    run("DLC .csv", "movement to_dlc_file (multi-animal)", folder / "m_multi.csv", two_xy,
        lambda p: save_poses.to_dlc_file(two, p, split_individuals=False))
    run("DLC .h5", "movement to_dlc_file (.h5, needs PyTables)", folder / "m_single.h5", xy,
        lambda p: save_poses.to_dlc_file(one, p))
    run("SLEAP analysis .h5", "movement to_sleap_analysis_file", folder / "m.analysis.h5",
        xy, lambda p: save_poses.to_sleap_analysis_file(one, p))
    run("SLEAP analysis .h5", "sleap-io save_analysis_h5", folder / "s.analysis.h5", xy,
        lambda p: sio.save_analysis_h5(poses_to_labels(poses, folder), str(p)))

    def nwb(p: Path) -> None:
        f = save_poses.to_nwb_file(one)
        with NWBHDF5IO(str(p), "w") as io:
            io.write(f)

    run(".nwb", "movement to_nwb_file", folder / "m.nwb", xy, nwb)
    run(".nc", "movement dataset to_netcdf", folder / "m.nc", xy, lambda p: one.to_netcdf(p))
    run(".slp", "sleap-io save_slp", folder / "s.slp", xy,
        lambda p: sio.save_slp(poses_to_labels(poses, folder), str(p)))
    return rows


def table(rows, title: str) -> str:
    out = [f"### {title}", "", "| file | loaded with | result | max coord error (px) | same "
           "missing points | note |", "|---|---|---|---|---|---|"]
    for fmt, how, res, err, missing, note in rows:
        e = "—" if not np.isfinite(err) else f"{err:.1e}"
        m = "—" if missing is None else "yes" if missing else "no"
        out.append(f"| {fmt} | {how} | {res} | {e} | {m} | {note} |")
    return "\n".join(out)


def main() -> int:
    import movement
    import nwbinspector
    import pynwb
    import sleap_io

    import ndx_pose  # noqa: F401 - version below

    from importlib.metadata import version

    poses = make_poses()
    NAMES[:] = list(poses.schema.keypoints)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        write_video(folder / "clip.mp4")
        here = os.getcwd()
        os.chdir(folder)  # the poses name their video "clip.mp4", relative to here
        try:
            fwd = forward(poses, folder)
            rev = reverse(poses, folder)
        finally:
            os.chdir(here)
    print("## infantpose pose files and the field's tools\n")
    print(f"movement {movement.__version__}, sleap-io {sleap_io.__version__}, pynwb "
          f"{pynwb.__version__}, ndx-pose {version('ndx-pose')}, nwbinspector "
          f"{nwbinspector.__version__ if hasattr(nwbinspector, '__version__') else version('nwbinspector')}; "
          f"synthetic infant22 video, {N_FRAMES} frames at {FPS} fps, one infant "
          f"(`PYTHONPATH=src python benchmarks/interop.py`).\n")
    print(table(fwd, "infantpose writes, the peers load with their defaults"))
    print()
    print(table(rev, "the peers write, infantpose.load_poses reads"))
    failed = sum(r[2] != "pass" for r in fwd + rev)
    print(f"\n{len(fwd) + len(rev) - failed} of {len(fwd) + len(rev)} pass.")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
