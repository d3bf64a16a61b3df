"""``infantpose adapt``: views map back exactly, agreement and temporal checks keep what they
should, and the command runs end to end on images the test renders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infantpose.adapt.pseudo_labels import VIEWS, agreement, temporal_mask, view_predictions
from infantpose.cli import main
from infantpose.geometry import body_size
from infantpose.poses import Poses
from infantpose.schemas import get_schema

COCO = get_schema("coco17")


class MarkerModel:
    """A fake pose model that reads keypoints painted into the image: pixel value (k + 1) in
    channel 0 marks keypoint k. Like a real model it sees a mirrored person as a person whose
    left is on the other side: three reference dots (values 200, 201, 202 in channel 1) tell it
    whether the image is mirrored (the triangle's winding flips), and then it swaps left/right
    names."""

    name = "markers"
    schema = COCO

    def predict(self, image, boxes=None):
        data = np.full((1, 1, COCO.num_keypoints, 3), np.nan)
        data[..., 2] = 0.0
        ref = [np.argwhere(image[..., 1] == v)[0][::-1].astype(float) for v in (200, 201, 202)]
        a, b, c = ref
        mirrored = np.cross(b - a, c - a) < 0
        for k in range(COCO.num_keypoints):
            hit = np.argwhere(image[..., 0] == k + 1)
            if len(hit):
                data[0, 0, k] = [hit[0][1] + 0.5, hit[0][0] + 0.5, 0.9]
        if mirrored:
            data[0, 0] = data[0, 0][COCO.flip_index]
        return Poses(data, COCO)


def _marker_image(rng):
    img = np.zeros((90, 130, 3), np.uint8)
    pts = np.stack([rng.integers(5, 125, COCO.num_keypoints), rng.integers(5, 85, COCO.num_keypoints)], 1)
    # distinct positions
    pts = np.unique(pts, axis=0)[: COCO.num_keypoints]
    assert len(pts) == COCO.num_keypoints
    for k, (x, y) in enumerate(pts):
        img[y, x, 0] = k + 1
    for v, (x, y) in zip((200, 201, 202), ((2, 2), (60, 3), (4, 70))):
        img[y, x, 1] = v
    return img, pts + 0.5


def test_every_view_maps_keypoints_back_with_left_and_right_kept():
    img, truth = _marker_image(np.random.default_rng(0))
    views = view_predictions(MarkerModel(), img, COCO)
    assert views.shape == (len(VIEWS), COCO.num_keypoints, 3)
    for v in range(len(VIEWS)):
        np.testing.assert_allclose(views[v, :, :2], truth, atol=1e-9, err_msg=f"view {VIEWS[v]}")


def test_agreement_keeps_what_most_views_agree_on_and_drops_the_rest():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 200, (COCO.num_keypoints, 2))
    views = np.repeat(np.concatenate([truth, np.full((COCO.num_keypoints, 1), 0.9)], 1)[None], 8, 0)
    views[:, :, :2] += rng.normal(0, 0.5, (8, COCO.num_keypoints, 2))
    size = body_size(truth)
    views[:2, 3, :2] += 0.5 * size          # two views wrong on keypoint 3: still kept
    views[:4, 7, :2] += 0.5 * size          # four wrong on keypoint 7: dropped (5 needed)
    views[:, 9, 2] = 0.1                    # every view unsure of keypoint 9: dropped
    views[7] = np.nan                       # one view found nobody
    views[7, :, 2] = 0
    pl = agreement(views, tol=0.05, min_views=5, min_score=0.5)
    assert pl.kept[3] and not pl.kept[7] and not pl.kept[9]
    assert pl.agree[3] == 5 and pl.agree[0] == 7
    np.testing.assert_allclose(pl.keypoints[3, :2], views[2:7, 3, :2].mean(0))
    assert np.isnan(pl.keypoints[7, :2]).all() and pl.keypoints[7, 2] == 0
    assert pl.kept.sum() == COCO.num_keypoints - 2
    empty = agreement(np.full((8, COCO.num_keypoints, 3), np.nan))
    assert not empty.kept.any()


def test_temporal_check_drops_a_keypoint_that_jumps():
    t, k = 5, COCO.num_keypoints
    base = np.random.default_rng(2).uniform(0, 100, (k, 2))
    track = np.repeat(base[None], t, 0) + np.arange(t)[:, None, None] * 0.3  # slow drift
    track[2, 4] += 40.0                     # keypoint 4 jumps in frame 2
    track[3, 6] = np.nan                    # keypoint 6 unknown in frame 3
    kept = np.ones((t, k), bool)
    ok = temporal_mask(track, kept, tol=0.05, radius=2)
    assert not ok[2, 4] and ok[2, 5] and ok[1, 4]
    assert not ok[3, 6]
    single = temporal_mask(track[:1], kept[:1])
    assert not single.any()                 # no neighbour: nothing to confirm with


def test_adapt_rejects_bad_options_and_sources(tmp_path, capsys):
    img = tmp_path / "a.png"
    from infantpose.io.images import write_image

    write_image(img, np.zeros((64, 64, 3), np.uint8))
    for args, needle in [
        ([str(tmp_path / "missing.jpg")], "no such file"),
        ([str(img), "--min-views", "9"], "min-views"),
        ([str(img), "--tolerance", "0"], "tolerance"),
        ([str(img), "--preset", "slow"], "'--preset'"),
        ([str(img), "--weights", str(tmp_path / "none.pt")], "no such checkpoint"),
    ]:
        assert main(["adapt", *args, "--out", str(tmp_path / "run"), "-q"]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (args, err)
    assert not (tmp_path / "run" / "model.pt").exists()


def test_adapt_with_nobody_found_says_so(tmp_path, capsys):
    from infantpose.io.images import write_image

    for i in range(2):
        write_image(tmp_path / f"blank{i}.png", np.full((96, 96, 3), 120, np.uint8))
    code = main(["adapt", str(tmp_path / "blank0.png"), str(tmp_path / "blank1.png"),
                 "--out", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "no usable pseudo-labels in 2 frame(s)" in err
    assert not (tmp_path / "run" / "pseudo_labels.json").exists()


@pytest.mark.slow
def test_adapt_end_to_end_on_renders(tmp_path, capsys):
    """Pseudo-labels from the mediapipe runtime on rendered infants, then a few training steps;
    the model loads in predict; a rerun reuses the pseudo-labels; a user's file is not replaced."""
    from infantpose.synth.generate import write_dataset

    write_dataset(tmp_path / "renders", 6, "coco17", seed=3, size=(256, 256), style="studio")
    photos = sorted((tmp_path / "renders").glob("*.png")) or sorted((tmp_path / "renders").rglob("*.jpg"))
    assert photos
    out = tmp_path / "run"
    args = ["adapt", *map(str, photos), "--out", str(out), "--max-steps", "2", "-q"]
    assert main(args) == 0
    report = json.loads((out / "adapt_report.json").read_text())
    assert report["frames"] == len(photos) and report["frames_used"] >= 1
    coco = json.loads((out / "pseudo_labels.json").read_text())
    assert len(coco["images"]) == report["frames_used"]
    assert (out / "model.pt").is_file()
    capsys.readouterr()
    assert main([*args, "--max-steps", "3"]) == 0
    assert "reusing pseudo-labels" in capsys.readouterr().err
    pred = tmp_path / "pred"
    assert main(["predict", str(photos[0]), "--model", "blazepose-torch", "--weights",
                 str(out / "model.pt"), "--out", str(pred), "-q"]) == 0


def test_pseudo_label_writes_a_coco_file_train_can_read(tmp_path):
    from infantpose.adapt.frames import Frame
    from infantpose.adapt.run import AdaptOptions, pseudo_label
    from infantpose.io.labels import read_labels

    rng = np.random.default_rng(5)
    frames, truths = [], []
    for i in range(3):
        img, truth = _marker_image(rng)
        frames.append(Frame(tmp_path / f"photo{i}.png", None, img))
        truths.append(truth)
    frames.append(Frame(tmp_path / "empty.png", None, np.zeros((40, 40, 3), np.uint8)))
    frames[-1].image[2, 2, 1], frames[-1].image[3, 30, 1], frames[-1].image[30, 4, 1] = 200, 201, 202
    seen = []
    labels, report = pseudo_label(MarkerModel(), frames, COCO, tmp_path / "run",
                                  AdaptOptions(max_side=100), claim=seen.append)
    assert report.frames == 4 and report.frames_used == 3
    assert report.keypoints_kept["left_wrist"] == 3 and report.kept_fraction == pytest.approx(0.75)
    ds = read_labels(labels)
    assert len(ds) == 3 and (ds.visibility == 2).all()
    # frames were downscaled to 100 px on their longer side; labels scaled with them
    scale = 100 / 130
    for i in range(3):
        np.testing.assert_allclose(ds.poses.data[i, 0, :, :2], truths[i] * scale, atol=1e-3)
    assert len(seen) == 3 and all(p.parent.name == "frames" for p in seen)
    assert json.loads((tmp_path / "run" / "adapt_report.json").read_text())["frames_used"] == 3


def test_adapt_refuses_a_weights_file_that_is_not_a_checkpoint(tmp_path, capsys):
    from infantpose.io.images import write_image

    write_image(tmp_path / "a.png", np.zeros((64, 64, 3), np.uint8))
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    code = main(["adapt", str(tmp_path / "a.png"), "--weights", str(bogus), "--out",
                 str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "model.pt" in err[0]
    assert not (tmp_path / "run").exists()


def test_adapt_refuses_to_write_into_its_input_folder(tmp_path, capsys):
    from infantpose.io.images import write_image

    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "a.png", np.zeros((64, 64, 3), np.uint8))
    code = main(["adapt", str(photos), "--out", str(photos), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "input folder" in err[0]
    assert sorted(p.name for p in photos.iterdir()) == ["a.png"]


def test_label_frame_checks_video_keypoints_against_their_neighbours(tmp_path):
    from infantpose.adapt.frames import Frame
    from infantpose.adapt.run import AdaptOptions, label_frame

    img, truth = _marker_image(np.random.default_rng(7))
    moved = img.copy()
    y, x = (truth[0] - 0.5).astype(int)[::-1]
    moved[y, x, 0] = 0
    moved[(y + 40) % 90, (x + 60) % 130, 0] = 1  # keypoint 0 far away in both neighbours
    steady = label_frame(MarkerModel(), Frame(tmp_path / "v.mp4", 5, img, [img, img], 1),
                         COCO, AdaptOptions())
    jumpy = label_frame(MarkerModel(), Frame(tmp_path / "v.mp4", 5, img, [moved, moved], 1),
                        COCO, AdaptOptions())
    assert steady.kept.all()
    assert not jumpy.kept[0] and jumpy.kept[1:].all() and np.isnan(jumpy.keypoints[0, :2]).all()
