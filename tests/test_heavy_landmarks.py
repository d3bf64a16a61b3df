"""Choosing the starting BlazePose network (``landmark_model="full" | "heavy"``): the torch
estimator, checkpoints and training build the one asked for, and a missing heavy file is a
one-line error.

The heavy file is found through :func:`infantpose.models.tflite_port.stored_model_file` (the
model store). Fast tests patch it to a stand-in (a copy of the wheel's full model under the heavy
name: the plumbing is the same); the slow ones need the real file and skip without it.
"""

import shutil

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.models import tflite_port
from infantpose.models.tflite_port import HEAVY_STORE_NAME, mediapipe_model_path

torch.set_num_threads(1)


@pytest.fixture
def store(monkeypatch, tmp_path):
    """The model store answers with ``tmp/pose_landmark_heavy.tflite``; ``calls`` records the
    names asked for. The file starts absent; ``install()`` puts the stand-in there."""
    path = tmp_path / "store" / "pose_landmark_heavy.tflite"
    calls: list[str] = []

    def fake(name):
        calls.append(name)
        return path

    def install(src=None):
        path.parent.mkdir(exist_ok=True)
        shutil.copy(src or mediapipe_model_path("pose_landmark_full"), path)
        return path

    monkeypatch.setattr(tflite_port, "stored_model_file", fake)
    return type("Store", (), {"path": path, "calls": calls, "install": staticmethod(install)})


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg
    return msg


def test_missing_heavy_file_is_a_one_line_input_error(store):
    from infantpose.models import create_estimator

    with pytest.raises(InputError) as e:
        create_estimator("blazepose-torch", landmark_model="heavy")
    assert str(store.path) in _one_line(e) and "heavy" in str(e.value)
    assert store.calls == [HEAVY_STORE_NAME]
    with pytest.raises(InputError) as e:
        create_estimator("blazepose-torch", landmark_model="huge")
    assert "full or heavy" in _one_line(e)


def test_no_model_store_is_a_one_line_input_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "infantpose.models.store", None)  # the module is absent
    with pytest.raises(InputError) as e:
        tflite_port.landmark_model_path("heavy")
    assert HEAVY_STORE_NAME in _one_line(e)


def test_store_errors_become_one_line_input_errors(monkeypatch):
    import sys
    import types

    def broken(name):
        raise FileNotFoundError(f"no cache entry\nfor {name}")

    monkeypatch.setitem(sys.modules, "infantpose.models.store",
                        types.SimpleNamespace(model_file=broken))
    with pytest.raises(InputError) as e:
        tflite_port.landmark_model_path("heavy")
    assert "no cache entry for blazepose-heavy" in _one_line(e)


def test_heavy_is_selected_recorded_and_rebuilt(store, tmp_path):
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.checkpoint import load_checkpoint, save_checkpoint
    from infantpose.models.topdown import create_blazepose_torch

    store.install()
    est = create_blazepose_torch(schema="coco17", landmark_model="heavy", detector="none")
    assert est.loaded.config["variant"] == "pose_landmark_heavy"
    assert est.loaded.source == "mediapipe pose_landmark_heavy.tflite"
    assert create_blazepose_torch(detector="none").loaded.config["variant"] == "pose_landmark_full"

    net = BlazePoseLandmarkNet("coco17", variant="heavy")
    assert net.variant == "pose_landmark_heavy"
    with torch.no_grad():
        net.head.bias += 0.25
    ckpt = save_checkpoint(tmp_path / "heavy.pt", net, "coco17")
    store.calls.clear()
    loaded = load_checkpoint(ckpt)  # rebuilt from the store's heavy file, not the wheel
    assert store.calls == [HEAVY_STORE_NAME] and loaded.model.variant == "pose_landmark_heavy"
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), net(x))
    # the estimator follows the checkpoint; naming another network is refused
    assert create_blazepose_torch(weights=str(ckpt), detector="none").model.variant == \
        "pose_landmark_heavy"
    create_blazepose_torch(weights=str(ckpt), landmark_model="heavy", detector="none")
    with pytest.raises(InputError) as e:
        create_blazepose_torch(weights=str(ckpt), landmark_model="full", detector="none")
    assert "pose_landmark_heavy" in _one_line(e)
    # without the heavy file the checkpoint cannot be rebuilt: one line naming the checkpoint
    store.path.unlink()
    with pytest.raises(InputError) as e:
        load_checkpoint(ckpt)
    assert _one_line(e).startswith(str(ckpt)) and "pose_landmark_heavy" in str(e.value)


def test_training_builds_the_chosen_network(store, tmp_path):
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.checkpoint import save_checkpoint
    from infantpose.schemas import get_schema
    from infantpose.train.config import config_from_dict
    from infantpose.train.loop import build_training_model

    store.install()
    data = tmp_path / "labels.json"
    data.write_text("{}")  # only checked to exist: building the model reads no data
    coco17 = get_schema("coco17")

    def cfg(**model):
        return config_from_dict({"data": [str(data)], "schema": "coco17", "model": model,
                                 "out": str(tmp_path / "run")})

    assert build_training_model(cfg(), coco17).variant == "pose_landmark_full"
    store.calls.clear()
    heavy = build_training_model(cfg(landmark_model="heavy"), coco17)
    assert heavy.variant == "pose_landmark_heavy" and store.calls == [HEAVY_STORE_NAME]
    # fidip freezing applies to the heavy trunk as to the full one
    assert not any(p.requires_grad for p in heavy.stage_parameters("res64"))
    # starting from a checkpoint: its network; a contradicting landmark_model is refused
    ckpt = save_checkpoint(tmp_path / "full.pt", BlazePoseLandmarkNet("coco17"), "coco17")
    assert build_training_model(cfg(weights=str(ckpt)), coco17).variant == "pose_landmark_full"
    with pytest.raises(InputError) as e:
        build_training_model(cfg(weights=str(ckpt), landmark_model="heavy"), coco17)
    assert "pose_landmark_full" in _one_line(e)
    for bad, match in (({"landmark_model": "huge"}, "full or heavy"),
                       ({"landmark_model": "heavy", "arch": "pose-resnet"}, "arch: blazepose")):
        with pytest.raises(InputError, match=match):
            cfg(**bad)


def test_cli_landmark_model_option_reaches_the_config(monkeypatch, tmp_path):
    from infantpose.cli import main

    seen = {}

    def fake_train(cfg, resume, progress):
        seen["landmark_model"] = cfg.model.landmark_model
        return tmp_path / "model.pt"

    import infantpose.train.loop as loop

    monkeypatch.setattr(loop, "train", fake_train)
    data = tmp_path / "labels.json"
    data.write_text("{}")
    code = main(["train", "--data", str(data), "--landmark-model", "heavy",
               "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 0 and seen["landmark_model"] == "heavy"


@pytest.mark.slow
def test_real_heavy_landmark_net_reproduces_the_graph(tmp_path):
    """The heavy BlazePoseLandmarkNet (pretrained head) gives the graph's own landmarks."""
    from test_tflite_port import heavy_file

    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.tflite_port import load_tflite

    path = heavy_file()
    if path is None:
        pytest.skip("pose_landmark_heavy.tflite not on this machine")
    net = BlazePoseLandmarkNet("blazepose33", variant="heavy", tflite_path=path).eval()
    graph = load_tflite(path)
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        raw = net(x)
        ref = graph(x)[0].reshape(2, 39, 5)
    assert raw.shape == (2, 39, 5) and torch.allclose(raw, ref, atol=1e-4)
    assert sum(p.numel() for p in net.parameters()) > 4 * 3_000_000
    assert np.isfinite(net.keypoints(raw)[0].numpy()).all()
