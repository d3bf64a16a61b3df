"""MoveNet fine-tuning (infantpose.train.movenet): targets that decode back to the labels through
MoveNet's own decoding, masked losses, augmentation geometry, a few training steps on a tiny
stand-in TF.js graph with MoveNet's head nodes, checkpoints, and ``infantpose train --arch
movenet``. No SyRIP data and no real MoveNet file are needed."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.models.movenet import HEAD_NODES, create, movenet_heads
from infantpose.schemas import COCO17
from infantpose.train import movenet as mt

sys.path.insert(0, str(Path(__file__).parent))

N = 32  # stand-in input size: an 8×8 grid


def random_pose(rng, n=256, spread=35.0, drop=0.1):
    c = rng.uniform(0.25 * n, 0.75 * n, 2)
    xy = np.clip(c + rng.normal(0, spread * n / 256, (17, 2)), 0, n - 1e-3)
    lab = rng.random(17) > drop
    lab[0] = True
    xy[~lab] = np.nan
    return xy, lab


# --- targets and decoding ------------------------------------------------------------------------

def test_targets_decode_back_to_the_labels():
    rng = np.random.default_rng(0)
    for _ in range(60):
        xy, lab = random_pose(rng)
        t = mt.make_targets(xy, lab, 256)
        out = mt.decode_heads(mt.targets_to_heads(t), probabilities=True)[0].numpy()
        np.testing.assert_allclose(out[lab][:, [1, 0]] * 256, xy[lab], atol=1e-3)
        # the distance weighting may pick a neighbour of the peak (at worst a diagonal one,
        # exp(-1 / sigma²)); the offsets taught around the peak still give the label back
        assert (out[lab, 2] >= np.exp(-1 / 1.5 ** 2) - 1e-6).all()


def test_the_movenet_codec_encodes_what_it_decodes():
    from infantpose.models.movenet_codec import MoveNetCodec

    codec = MoveNetCodec(input_size=192, sigma=1.5, centre_sigma=2.0)
    rng = np.random.default_rng(1)
    for _ in range(10):
        xy, lab = random_pose(rng)
        xy = xy * 192 / 256
        t = codec.encode(xy, lab)
        assert t["heatmaps"].shape == (17, 48, 48)
        out = codec.decode(mt.targets_to_heads(t), probabilities=True)[0].numpy()
        np.testing.assert_allclose(out[lab][:, [1, 0]] * 192, xy[lab], atol=1e-3)


def test_target_conventions():
    xy = np.full((17, 2), np.nan)
    lab = np.zeros(17, bool)
    xy[0], xy[5], xy[6] = (41.0, 22.0), (10.0, 30.0), (300.0, 30.0)  # 6 is outside the crop
    lab[[0, 5, 6]] = True
    t = mt.make_targets(xy, lab, 256)
    # keypoint 0 at (x 41, y 22) px = (y 5.5, x 10.25) cells: peak at the floor cell (5, 10)
    assert t["heatmaps"][0, 5, 10] == 1.0 and t["heatmaps"][0].max() == 1.0
    np.testing.assert_allclose(t["offsets"][0:2, 5, 10], [0.5, 0.25])
    np.testing.assert_allclose(t["offsets"][0:2, 6, 11], [-0.5, -0.75])  # a neighbour cell
    # centre: the mean of the labelled keypoints (x 117, y 27.33) -> cell (6, 29)
    assert t["centre"][0, 6, 29] == 1.0
    np.testing.assert_allclose(t["regression"][0:2, 6, 29], [5.5 - 6, 10.25 - 29], atol=1e-6)
    np.testing.assert_array_equal(np.flatnonzero(t["heat_mask"]), [0, 5])  # 6 not in the grid
    assert t["regression_mask"][6].sum() > 0 and t["offset_mask"][6].sum() == 0
    unl = [k for k in range(17) if k not in (0, 5, 6)]
    for key in ("heatmaps", "offset_mask", "regression_mask"):
        assert not t[key][unl].any()


def test_decoding_weights_centre_and_keypoints_by_distance():
    s = 8
    heads = {"centre": torch.full((1, 1, s, s), -9.0), "heatmaps": torch.full((1, 17, s, s), -9.0),
             "regression": torch.zeros(1, 34, s, s), "offsets": torch.zeros(1, 34, s, s)}
    heads["centre"][0, 0, 4, 4] = 2.0  # the grid middle ...
    heads["centre"][0, 0, 0, 0] = 2.1  # ... beats a slightly stronger corner
    heads["regression"][0, 0:2, 4, 4] = torch.tensor([-3.0, -3.0])  # keypoint 0 near (1, 1)
    heads["heatmaps"][0, 0, 1, 1] = 1.0  # near the regressed point ...
    heads["heatmaps"][0, 0, 6, 6] = 1.5  # ... beats a stronger far one
    heads["offsets"][0, 0:2, 1, 1] = torch.tensor([0.25, 0.5])
    out = mt.decode_heads(heads)[0]
    np.testing.assert_allclose(out[0].numpy(), [1.25 / s, 1.5 / s, torch.sigmoid(
        torch.tensor(1.0)).item()], atol=1e-6)


# --- losses ----------------------------------------------------------------------------------------

def _batch(rng, n=64, b=2):
    ts = [mt.make_targets(*random_pose(rng, n, drop=0.3), n) for _ in range(b)]
    return mt.collate(ts)


@pytest.mark.parametrize("loss", ["focal", "mse"])
def test_unlabelled_keypoints_get_no_gradient(loss):
    rng = np.random.default_rng(1)
    t = _batch(rng)
    s = 16
    heads = {k: torch.randn(2, c, s, s, requires_grad=True)
             for k, c in (("centre", 1), ("heatmaps", 17), ("regression", 34), ("offsets", 34))}
    total, terms = mt.movenet_loss(heads, t, loss)
    total.backward()
    assert set(terms) == {"heat", "centre", "offset", "regression"}
    unl = t["heat_mask"] == 0
    assert unl.any() and (heads["heatmaps"].grad[unl] == 0).all()
    assert (heads["heatmaps"].grad[~unl] != 0).any()
    unreg = (t["regression_mask"].sum((-1, -2)) == 0)  # not labelled at all
    for key in ("regression", "offsets"):
        g = heads[key].grad.reshape(2, 17, 2, s, s)
        assert (g[unreg] == 0).all()
    # offsets and regression are taught only in their windows
    go = heads["offsets"].grad.reshape(2, 17, 2, s, s).abs().sum(2)
    assert (go[t["offset_mask"] == 0] == 0).all()


def test_replay_is_zero_at_the_teacher_and_only_a_term():
    rng = np.random.default_rng(3)
    t = _batch(rng)
    heads = {k: torch.randn(2, c, 16, 16)
             for k, c in (("centre", 1), ("heatmaps", 17), ("regression", 34), ("offsets", 34))}
    base, _ = mt.movenet_loss(heads, t)
    same, terms = mt.movenet_loss(heads, t, teacher=heads, replay=0.5)
    assert terms["replay"] == 0.0 and torch.isclose(base, same)
    other = {k: v + 1.0 for k, v in heads.items()}
    more, terms = mt.movenet_loss(heads, t, teacher=other, replay=0.5)
    assert terms["replay"] > 0 and torch.isclose(more, base + 0.5 * terms["replay"])


def test_focal_loss_is_lower_at_the_target():
    rng = np.random.default_rng(2)
    t = _batch(rng)
    good = torch.logit(t["heatmaps"].clamp(1e-4, 1 - 1e-4))
    bad = torch.zeros_like(good)
    assert mt.focal_loss(good, t["heatmaps"], t["heat_mask"]) < 0.1 * mt.focal_loss(
        bad, t["heatmaps"], t["heat_mask"])
    assert mt.heat_mse(good, t["heatmaps"], t["heat_mask"]) < 1e-3


# --- augmentation -----------------------------------------------------------------------------------

def _dot_sample(c=128):
    """A cached sample with a bright dot exactly at each of two labelled keypoints (left_wrist
    and right_ankle), the rest unlabelled."""
    img = np.zeros((c, c, 3), np.uint8)
    xy = np.full((17, 2), np.nan)
    lab = np.zeros(17, bool)
    for k, (x, y) in ((COCO17.index("left_wrist"), (50.5, 60.5)),
                      (COCO17.index("right_ankle"), (80.5, 70.5))):
        img[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
        xy[k], lab[k] = (x, y), True
    return mt.Sample(img, xy, lab, box_side=40.0)


@pytest.mark.parametrize("seed", range(6))
def test_augmented_keypoints_follow_the_image(seed):
    smp = _dot_sample()
    a = mt.AugmentSettings(rotate_p=0.5, flip_p=0.5, colour=0.0)
    img, xy, lab = mt.augment(smp, np.random.default_rng(seed), 64, a)
    assert img.shape == (64, 64, 3) and img.dtype == np.float32
    assert lab.sum() == 2
    for k in np.flatnonzero(lab):
        x, y = xy[k]
        if 2 <= x < 62 and 2 <= y < 62:
            patch = img[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2].mean(-1)
            assert patch.max() > 60, (k, x, y)


def test_mirroring_swaps_left_and_right():
    smp = _dot_sample()
    a = mt.AugmentSettings(scale=(1.0, 1.0), shift=0.0, rotate_p=0.0, small_rotation=0.0,
                           flip_p=1.0, colour=0.0)
    _, xy, lab = mt.augment(smp, np.random.default_rng(0), 64, a)
    lw, rw = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    assert lab[rw] and not lab[lw]
    # the dot was left of the crop centre (64 of 128); mirrored, it is right of it
    assert xy[rw, 0] > 32


def test_cache_samples_square_crops(tmp_path):
    from helpers_labels import make_dataset

    ds = make_dataset(tmp_path, "coco17", n_images=2, w=80, h=60)
    samples = mt.cache_samples(ds, None, input_size=32, context=2.0)
    assert len(samples) == 2 and samples[0].image.shape == (64, 64, 3)
    lab = ds.visibility[0, 0] > 0
    np.testing.assert_array_equal(samples[0].labelled, lab)
    # the labelled box's longer side maps to 32 / 1.25 px, centred in the 64 px crop
    assert abs(samples[0].box_side - 32 / 1.25) < 1e-6
    with pytest.raises(InputError):
        mt.cache_samples(make_dataset(tmp_path / "b", "infant22", n_images=1), None, 32)


# --- a tiny TF.js graph with MoveNet's heads --------------------------------------------------------

def tiny_trainable_movenet(folder: Path, n: int = N, name: str = "movenet-thunder") -> Path:
    """int32 (1, n, n, 3) input; a stride-4 convolution (ReLU), then the four heads as 1×1
    convolutions named like MoveNet's; the graph output is a fixed (1, 1, 17, 3) pose (the
    estimator needs one; training reads the heads)."""
    from test_tfjs_graph import Model, ints, s_, strs

    rng = np.random.default_rng(0)
    m = Model([1, n, n, 3], dtype="DT_INT32")
    x = m.add("cast", "Cast", ["input"], DstT={"type": "DT_FLOAT"})
    xs = m.add("scale", "Mul", [x, m.const("k", np.float32(1 / 255))])
    w = m.const("w_stem", rng.normal(size=(4, 4, 3, 16)) * 0.3)
    b = m.const("b_stem", np.zeros(16))
    f = m.add("StatefulPartitionedCall/center_net_mobile_net_v2fpn_feature_extractor/model_1/"
              "model/Conv1_relu/Relu6", "_FusedConv2D", [xs, w, b], strides=ints(1, 4, 4, 1),
              padding=s_("VALID"), dilations=ints(1, 1, 1, 1), data_format=s_("NHWC"),
              fused_ops=strs("BiasAdd", "Relu"), num_args={"i": "1"})
    for key, c in (("centre", 1), ("heatmaps", 17), ("regression", 34), ("offsets", 34)):
        wk = m.const(f"w_{key}", rng.normal(size=(1, 1, 16, c)) * 0.1)
        bk = m.const(f"b_{key}", np.full(c, -2.0 if key in ("centre", "heatmaps") else 0.0))
        m.add(HEAD_NODES[key], "_FusedConv2D", [f, wk, bk], strides=ints(1, 1, 1, 1),
              padding=s_("VALID"), dilations=ints(1, 1, 1, 1), data_format=s_("NHWC"),
              fused_ops=strs("BiasAdd"), num_args={"i": "1"})
    z = m.add("zero", "Mul", [x, m.const("z", np.float32(0.0))])
    r = m.add("r", "Reshape", [z, m.const("shape", np.array([1, 1, -1, 3], np.int32))])
    idx = np.array([[[[0, 0, k] for k in range(17)]]], np.int32)
    g = m.add("g", "GatherNd", [r, m.const("idx", idx)])
    k = np.arange(17) / 100 + 0.25
    kp = np.stack([k, k, np.full(17, 0.8)], -1)[None, None].astype(np.float32)
    out = m.add("Identity", "AddV2", [g, m.const("kp", kp)])
    return m.write(folder, [out], name=name)


def _samples(rng, count=6, n=N):
    out = []
    for i in range(count):
        img = rng.integers(0, 60, (2 * n, 2 * n, 3)).astype(np.uint8)
        xy, lab = random_pose(rng, 2 * n, spread=40, drop=0.2)
        for x, y in xy[lab]:
            img[int(y), int(x)] = 255
        out.append(mt.Sample(img, xy, lab, box_side=n / 1.25))
    return out


def test_a_few_steps_lower_the_loss(tmp_path):
    from infantpose.models.movenet import load_movenet

    graph = load_movenet(tiny_trainable_movenet(tmp_path))
    rng = np.random.default_rng(0)
    samples = _samples(rng)
    a = mt.AugmentSettings(rotate_p=0.0, small_rotation=0.0, flip_p=0.0, colour=0.0,
                           scale=(1.0, 1.0), shift=0.0)
    cfg = mt.MoveNetTrainConfig(max_steps=40, batch_size=6, lr=3e-2, warmup=2, freeze=0,
                                minutes=1.0, augment=a, threads=1, replay=0.0)
    x, t = mt.make_batch(samples, [np.random.default_rng([0, j]) for j in range(6)], N, a,
                         cfg.sigma, cfg.centre_sigma)

    def loss() -> float:
        with torch.no_grad():
            return float(mt.movenet_loss(movenet_heads(graph, x), t)[0])

    before = loss()
    rep = mt.fine_tune(graph, samples, cfg=cfg, log=lambda s: None)
    assert rep["steps"] == 40 and rep["best_step"] == 0 and rep["start"] is None
    assert loss() < 0.7 * before
    assert all(p.requires_grad for p in graph.parameters())  # freezing undone


def test_freeze_early_blocks(tmp_path):
    from infantpose.models.movenet import load_movenet

    graph = load_movenet(tiny_trainable_movenet(tmp_path))
    total = sum(p.numel() for p in graph.parameters())
    left = mt.freeze_early(graph, 5)
    assert left == total - (4 * 4 * 3 * 16 + 16)  # the stem is frozen, the heads are not
    assert mt.freeze_early(graph, 0) == total


# --- checkpoints ------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path, monkeypatch):
    """The model store answering with the tiny graph for movenet-thunder."""
    import infantpose.models.store as real

    path = tiny_trainable_movenet(tmp_path)
    mod = types.ModuleType("infantpose.models.store")
    mod.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
    mod.model_file = lambda name: path if name == "movenet-thunder" else tmp_path / "nope.json"
    monkeypatch.setitem(sys.modules, "infantpose.models.store", mod)
    return path


def test_checkpoint_round_trip(tmp_path, store):
    from infantpose.models.movenet import load_movenet
    from infantpose.models.topdown import checkpoint_model

    graph = load_movenet(store)
    with torch.no_grad():
        for p in graph.parameters():
            p.add_(0.5)
    ck = mt.save_movenet_checkpoint(tmp_path / "model.pt", graph, "thunder", {"note": "x"})
    est = create(weights=str(ck), mirror_test=False)
    assert est.name == "movenet" and est.input_size == N
    for (k, a), (_, b) in zip(graph.state_dict().items(), est.net.state_dict().items()):
        assert torch.equal(a, b), k
    assert checkpoint_model(ck) == ("movenet", "movenet")
    from infantpose.models.resolve import resolve_model

    assert resolve_model(None, ck) == "movenet"
    assert resolve_model("movenet", store) == "movenet"  # a TF.js file stays the named model's
    pose = est.predict(np.zeros((20, 30, 3), np.uint8), np.array([[2.0, 2.0, 20.0, 15.0]]))
    assert pose.data.shape == (1, 1, 17, 3)


def test_bad_checkpoints_are_one_line_errors(tmp_path, store):
    from infantpose.models.movenet import create_lightning, load_movenet
    from infantpose.models.topdown import load_checkpoint

    ck = mt.save_movenet_checkpoint(tmp_path / "model.pt", load_movenet(store), "thunder")
    cases = [
        (lambda: create(weights=str(tmp_path / "missing.pt")), "not found"),
        (lambda: create(weights=str(ck), variant="lightning"), "not lightning"),
        (lambda: create_lightning(weights=str(ck)), "not lightning"),
        (lambda: load_checkpoint(ck), "movenet model"),
    ]
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    cases.append((lambda: create(weights=str(junk)), "cannot read"))
    other = tmp_path / "other.pt"
    torch.save({"format": "infantpose-checkpoint", "architecture": "pose_resnet"}, other)
    cases.append((lambda: create(weights=str(other)), "pose_resnet"))
    wrong = tmp_path / "wrong.pt"
    c = torch.load(ck, weights_only=True)
    c["state_dict"] = {k + "x": v for k, v in c["state_dict"].items()}
    torch.save(c, wrong)
    cases.append((lambda: create(weights=str(wrong)), "do not fit"))
    for fn, words in cases:
        with pytest.raises(InputError) as e:
            fn()
        assert words in str(e.value) and "\n" not in str(e.value)


# --- infantpose train --arch movenet ----------------------------------------------------------------

def test_config_presets_and_schema(tmp_path):
    from helpers_labels import make_dataset

    from infantpose.io.coco import write_coco
    from infantpose.train.config import config_from_dict

    ds = make_dataset(tmp_path, "coco17", n_images=2)
    f = tmp_path / "labels.json"
    write_coco(ds, f)
    cfg = config_from_dict({"data": [str(f)], "model": {"arch": "movenet"}, "out": "x"},
                           preset="quick")
    assert cfg.schema == "coco17" and cfg.optim.time_limit == 9.0
    m = mt.config_from_train(cfg)
    assert m.freeze == 10 and m.minutes == 9.0 and m.loss == "focal" and m.max_steps == 200
    assert m.replay == 0.5 and m.lr == 3e-5
    fidip = config_from_dict({"data": [str(f)], "model": {"arch": "movenet", "freeze": ["fidip"]},
                              "out": "x"})
    assert mt.config_from_train(fidip).freeze == 5
    full = config_from_dict({"data": [str(f)], "model": {"arch": "movenet"}, "out": "x",
                             "loss": "mse"}, preset="full")
    assert full.optim.time_limit == 55.0 and mt.config_from_train(full).loss == "mse"
    with pytest.raises(InputError):
        config_from_dict({"data": [str(f)], "model": {"arch": "movenet"}, "out": "x",
                          "schema": "infant22"})
    bp = config_from_dict({"data": [str(f)], "out": "x"}, preset="quick")  # unchanged
    assert bp.schema == "infant22" and bp.optim.lr == 3e-5


def test_train_cli_writes_a_movenet_checkpoint(tmp_path, store):
    from helpers_labels import make_dataset
    from typer.testing import CliRunner

    from infantpose.cli import app
    from infantpose.io.coco import write_coco

    ds = make_dataset(tmp_path / "data", "coco17", n_images=5, w=48, h=40)
    f = tmp_path / "data" / "labels.json"
    write_coco(ds, f)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--data", str(f), "--arch", "movenet",
                                   "--max-steps", "2", "--batch-size", "2", "--out", str(out),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    assert (out / "model.pt").is_file() and (out / "metrics.csv").is_file()
    ck = torch.load(out / "model.pt", weights_only=True)
    assert ck["architecture"] == "movenet" and ck["config"]["training"]["steps"] == 2
    assert ck["config"]["training"]["held_out"] == 1
    est = create(weights=str(out / "model.pt"))
    assert est.input_size == N


def test_upright_augmentation_stands_the_labelled_torso_up():
    xy = np.full((17, 2), np.nan)
    lab = np.zeros(17, bool)
    xy[[5, 6]] = [[300, 240], [300, 270]]  # lying: shoulders right of the hips
    xy[[11, 12]] = [[200, 240], [200, 270]]
    lab[[5, 6, 11, 12]] = True
    sample = mt.Sample(np.zeros((512, 512, 3), np.uint8), xy, lab, 200.0)
    rng = np.random.default_rng(0)
    a = mt.AugmentSettings(upright_p=1.0, flip_p=0.0, small_rotation=5.0)
    for _ in range(5):
        _, q, _ = mt.augment(sample, rng, 256, a)
        up = q[[5, 6]].mean(0) - q[[11, 12]].mean(0)
        assert np.degrees(np.arctan2(abs(up[0]), -up[1])) <= 5.0 + 1e-6
    # without a labelled hip there is no torso to stand up: the usual rotations
    sample.labelled[[11, 12]] = False
    a = mt.AugmentSettings(upright_p=1.0, flip_p=0.0, rotate_p=0.0, small_rotation=0.0)
    _, q, _ = mt.augment(sample, rng, 256, a)
    assert abs(q[5, 0] - q[6, 0]) < 1e-6 and q[6, 1] > q[5, 1]  # not turned
