"""Tests of the synthetic infant generator: labels, flips, determinism, schemas, clips, CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.schemas import COCO17, INFANT22, get_schema
from infantpose.synth import generate, render_clip, render_sample, write_dataset
from infantpose.synth.body import ANGLE_NAMES, KEYPOINT_NAMES, BodyShape, Pose, pose_body
from infantpose.synth.camera import Camera, look_at
from infantpose.synth.clips import MAX_FREQ_HZ, angle_trajectory
from infantpose.synth.generate import render_frame, sample_scene
from infantpose.synth.labels import project_keypoints, visibility
from infantpose.synth.poses import POSTURES, posture_ranges, sample_pose
from infantpose.synth.render import raycast

SIZE = (192, 160)


@pytest.mark.parametrize("posture", POSTURES)
def test_visible_labels_land_on_the_body_mask(posture):
    n_vis = 0
    for i in range(4):
        s = render_sample(7, i, "infant22", size=SIZE, style="studio", posture=posture)
        h, w = s.image.shape[:2]
        assert (w, h) == SIZE
        mask = s.buffers.body_mask
        for k in range(len(s.names)):
            if s.visibility[k] == 2:
                x, y = s.keypoints[k]
                assert mask[int(y), int(x)], (posture, i, s.names[k])
                n_vis += 1
            elif s.visibility[k] == 0:
                assert np.isnan(s.keypoints[k]).all()
            else:
                x, y = s.keypoints[k]
                assert 0 <= x < w and 0 <= y < h
        assert np.isfinite(s.box).all() and s.box[2] > 0 and s.box[3] > 0
    # Many keypoints are visible (crawling seen from above hides limbs under the body).
    assert n_vis >= 4 * 22 * 0.2


def test_occluded_and_out_of_frame_codes():
    rng = np.random.default_rng(3)
    scene, pose = sample_scene(rng, size=SIZE, style="studio", posture="supine")
    scene.blanket = None
    scene.wires = None
    scene.toys = []
    base = render_frame(scene, pose, INFANT22.keypoints, np.random.default_rng(0))
    assert (base.visibility == 2).sum() >= 8
    # A blanket over the whole picture hides every keypoint that is in the frame.
    scene.blanket = (np.ones(SIZE[::-1], bool), np.full((*SIZE[::-1], 3), 0.5, np.float32))
    covered = render_frame(scene, pose, INFANT22.keypoints, np.random.default_rng(0))
    assert set(np.unique(covered.visibility)) <= {0, 1}
    assert ((base.visibility > 0) == (covered.visibility == 1)).all()
    # Moving the principal point far away puts the infant out of the frame: code 0, no coords.
    scene.blanket = None
    scene.camera = dataclasses.replace(scene.camera, cx=scene.camera.cx + 10 * SIZE[0])
    gone = render_frame(scene, pose, INFANT22.keypoints, np.random.default_rng(0))
    assert (gone.visibility == 0).all() and np.isnan(gone.keypoints).all()


def test_left_keypoints_are_on_the_bodys_left_in_3d():
    shape = BodyShape()
    rng = np.random.default_rng(0)
    for posture in POSTURES:
        for _ in range(10):
            pose = sample_pose(posture, shape, rng)
            body = pose_body(shape, pose)
            left_axis = pose.root_R[:, 0]
            for part in ("shoulder", "hip"):
                d = body.keypoints[f"left_{part}"] - body.keypoints[f"right_{part}"]
                # Shoulders ride on the chest, which may bend/twist a little.
                assert d @ left_axis > 0, (posture, part)
            head_left = body.head_R[:, 0]
            for part in ("eye", "ear"):
                d = body.keypoints[f"left_{part}"] - body.keypoints[f"right_{part}"]
                assert d @ head_left > 0, (posture, part)


def _mirror_angles(a: np.ndarray) -> np.ndarray:
    """Angles of the mirror-image pose: swap sides, negate sideways bends and turns."""
    idx = {n: i for i, n in enumerate(ANGLE_NAMES)}
    out = a.copy()
    for n, i in idx.items():
        if n.startswith("left_"):
            j = idx["right_" + n[5:]]
            out[i], out[j] = a[j], a[i]
    for n in ("spine_lat", "spine_twist", "neck_lat", "neck_turn"):
        out[idx[n]] = -a[idx[n]]
    return out


@pytest.mark.parametrize("schema", [INFANT22, COCO17])
def test_mirrored_body_matches_flipped_image_and_flip_index(schema):
    """Rendering the mirror-image infant through the mirror-image camera must give the flipped
    image, with labels equal to the flipped labels permuted by the schema's flip_index."""
    rng = np.random.default_rng(11)
    shape = BodyShape()
    M = np.diag([-1.0, 1.0, 1.0])
    D = np.diag([-1.0, 1.0, 1.0])
    for posture in ("supine", "side", "sitting"):
        pose = sample_pose(posture, shape, rng, heading=0.0)
        pose = Pose(pose.angles, np.eye(3), np.zeros(3))  # body frame = world frame
        mpose = Pose(_mirror_angles(pose.angles), np.eye(3), np.zeros(3))
        cam = look_at(np.array([3.0, 8.0, 0.0]), 70, 30, 110, 10, 60, *SIZE)
        mcam = Camera(R=D @ cam.R @ M, C=M @ cam.C, f=cam.f, cx=cam.cx, cy=cam.cy,
                      width=cam.width, height=cam.height)
        body, mbody = pose_body(shape, pose), pose_body(shape, mpose)
        buf, mbuf = raycast(body.primitives, cam), raycast(mbody.primitives, mcam)
        flipped = buf.body_mask[:, ::-1]
        assert (flipped != mbuf.body_mask).mean() < 0.002
        uv, z = project_keypoints(body, schema.keypoints, cam)
        muv, mz = project_keypoints(mbody, schema.keypoints, mcam)
        fl = uv[schema.flip_index].copy()
        fl[:, 0] = SIZE[0] - fl[:, 0]
        np.testing.assert_allclose(muv, fl, atol=1e-6)
        v = visibility(uv, z, schema.keypoints, buf, body.scale)
        mv = visibility(muv, mz, schema.keypoints, mbuf, mbody.scale)
        assert (mv != v[schema.flip_index]).sum() <= 1  # pixel rounding at a silhouette edge


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    a = render_sample(5, 3, "coco17", size=SIZE)
    b = render_sample(5, 3, "coco17", size=SIZE)
    c = render_sample(6, 3, "coco17", size=SIZE)
    assert np.array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.image, c.image)
    # Image i does not depend on how many are generated.
    imgs2, ds2 = generate(2, "coco17", seed=5, size=SIZE)
    imgs4, ds4 = generate(4, "coco17", seed=5, size=SIZE)
    assert np.array_equal(imgs2[1], imgs4[1])
    np.testing.assert_array_equal(ds2.poses.data[1], ds4.poses.data[1])
    for d in ("one", "two"):
        write_dataset(tmp_path / d, 3, "infant22", seed=9, size=SIZE)
    for f in ("annotations.json", "images/synth_000000.jpg", "images/synth_000002.jpg"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()


@pytest.mark.parametrize("name", ["infant22", "coco17"])
def test_schema_coverage_every_keypoint_labelled_none_invented(name):
    schema = get_schema(name)
    images, ds = generate(12, name, seed=2, size=SIZE)
    assert len(images) == 12 == len(ds)
    assert ds.poses.data.shape == (12, 1, schema.num_keypoints, 3)
    assert ds.schema.keypoints == schema.keypoints
    assert set(ds.domains) == {"synthetic"}
    assert (ds.visibility > 0).any(axis=(0, 1)).all()  # every keypoint labelled somewhere
    assert (ds.visibility == 2).any(axis=(0, 1)).mean() > 0.8
    lab = ds.visibility > 0
    assert np.isfinite(ds.poses.data[..., :2][lab]).all()
    assert (ds.poses.data[..., 2][lab] == 1).all() and (ds.poses.data[..., 2][~lab] == 0).all()
    assert set(schema.keypoints) <= set(KEYPOINT_NAMES)


def test_unsupported_schema_and_bad_arguments():
    with pytest.raises(InputError, match="blazepose33"):
        generate(1, "blazepose33")
    with pytest.raises(InputError, match="unknown schema"):
        generate(1, "nope")
    with pytest.raises(InputError, match="positive"):
        generate(0)
    with pytest.raises(InputError, match="WIDTHxHEIGHT"):
        generate(1, size="big")


def test_angle_trajectories_stay_in_range_with_bounded_acceleration():
    fps = 30.0
    t = np.arange(300) / fps
    for posture in POSTURES:
        traj = angle_trajectory(posture, t, np.random.default_rng(1))
        r = posture_ranges(posture)
        assert (traj >= r[:, 0] - 1e-9).all() and (traj <= r[:, 1] + 1e-9).all()
        acc = np.abs(np.diff(traj, 2, axis=0)) * fps ** 2
        bound = (r[:, 1] - r[:, 0]) / 2 * (2 * np.pi * MAX_FREQ_HZ) ** 2
        assert (acc <= bound * 1.05 + 1e-6).all()


def test_clip_keypoints_move_smoothly():
    frames, poses, vis = render_clip(4, 2.0, fps=15, schema="infant22", size=(160, 120),
                                     style="studio")
    assert len(frames) == 30 and poses.data.shape == (30, 1, 22, 3) and poses.fps == 15
    assert vis.shape == (30, 22)
    xy = poses.data[:, 0, :, :2]
    vel = np.diff(xy, axis=0)
    acc = np.diff(xy, 2, axis=0)
    ok_v, ok_a = np.isfinite(vel).all(-1), np.isfinite(acc).all(-1)
    speed = np.linalg.norm(vel, axis=-1)[ok_v]
    accel = np.linalg.norm(acc, axis=-1)[ok_a]
    assert speed.max() > 0.2  # it moves
    assert accel.max() < 0.08 * np.hypot(160, 120)  # no jumps
    # Smooth: a typical frame-to-frame change of velocity is smaller than the velocity.
    assert np.median(accel) < 0.7 * np.median(speed)
    # Frames differ (motion + sensor noise) but the scene is fixed.
    assert not np.array_equal(frames[0], frames[1])
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() < 40


def test_cli_writes_valid_coco_json(tmp_path, capsys):
    from pycocotools.coco import COCO

    from infantpose.cli import main
    from infantpose.io.coco import read_coco

    out = tmp_path / "syn"
    rc = main(["synth", "--n", "3", "--out", str(out), "--schema", "coco17", "--seed", "1",
               "--size", "160x120", "--style", "nicu"])
    assert rc == 0
    d = json.loads((out / "annotations.json").read_text())
    assert len(d["images"]) == 3 and all(im["domain"] == "synthetic" for im in d["images"])
    assert all(im["style"] == "nicu" for im in d["images"])
    assert d["categories"][0]["keypoints"] == list(COCO17.keypoints)
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getAnnIds()) == 3
    ds = read_coco(out / "annotations.json")
    assert len(ds) == 3 and ds.domains == ["synthetic"] * 3
    assert all(p.is_file() for p in ds.image_paths)


@pytest.mark.parametrize("args, msg", [
    (["--n", "0"], "--n must be at least 1"),
    (["--n", "1", "--schema", "mpii"], "'--schema'"),
    (["--n", "1", "--style", "space"], "'--style'"),
    (["--n", "1", "--size", "10by10"], "WIDTHxHEIGHT"),
])
def test_cli_bad_arguments_fail_with_one_line(tmp_path, capsys, args, msg):
    from infantpose.cli import main

    out = tmp_path / "o"
    rc = main(["synth", "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error:") and msg in err and "\n" not in err
    assert not (out / "annotations.json").exists()


def test_cli_unwritable_output_fails_with_one_line(tmp_path, capsys):
    from infantpose.cli import main

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    rc = main(["synth", "--n", "1", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error:") and "file.txt" in err and "\n" not in err


def test_cli_clip(tmp_path):
    from infantpose.cli import main
    from infantpose.io.video import probe_video
    from infantpose.poses import Poses

    rc = main(["synth", "--n", "1", "--clip", "1", "--fps", "8", "--size", "96x80",
               "--out", str(tmp_path)])
    assert rc == 0
    info = probe_video(tmp_path / "clip_000.mp4")
    assert info.frame_size == (96, 80)
    p = Poses.load_json(tmp_path / "clip_000.json")
    assert p.data.shape == (8, 1, 22, 3) and p.fps == 8
