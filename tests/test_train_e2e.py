"""End-to-end fine-tuning on tiny synthetic data: checkpoints, CLI, resume, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from infantpose.cli import main

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from infantpose.synth.generate import write_dataset

    d = tmp_path_factory.mktemp("tiny")
    write_dataset(d / "syn", 12, "infant22", seed=0, size=(96, 96), style="studio")
    write_dataset(d / "coco", 4, "coco17", seed=1, size=(96, 96), style="nicu")
    return d


def _cfg(tiny, out, **over):
    from infantpose.train import config_from_dict

    values = {"data": [{"path": str(tiny / "syn" / "annotations.json"), "domain": "synthetic"}],
              "out": str(out), "threads": 1, "seed": 3,
              "model": {"freeze": ["features"]},  # head only: fast steps
              "optim": {"batch_size": 2, "max_steps": 6, "checkpoint_every": 1, "patience": 9}}
    for k, v in over.items():
        values[k] = {**values.get(k, {}), **v} if isinstance(v, dict) else v
    return config_from_dict(values)


def test_cli_train_then_predict_and_evaluate(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    ann = tiny / "syn" / "annotations.json"
    rc = main(["train", "--synthetic-data", str(ann), "--data", str(tiny / "coco" / "annotations.json"),
               "--max-steps", "2", "--batch-size", "4", "--loss", "kce", "--domain-adaptation",
               "--threads", "1", "--out", str(out), "-q"])
    assert rc == 0
    for name in ("model.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml"):
        assert (out / name).is_file(), name
    ck = torch.load(out / "model.pt", weights_only=True)
    assert ck["format"] == "infantpose-checkpoint" and ck["schema"] == "infant22"
    assert ck["architecture"] == "blazepose_landmarks"  # the default: regressed landmarks
    assert ck["heatmap_activation"] == "none" and ck["config"]["adapt"]["domain_adaptation"]
    assert "training_state" not in ck
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step") and len(rows) >= 2
    assert rows[1].split(",")[5] != ""  # domain loss logged

    img = tiny / "syn" / "images" / "synth_000000.jpg"
    rc = main(["predict", str(img), "--model", "blazepose-torch", "--weights", str(out / "model.pt"),
               "--schema", "infant22", "--out", str(tmp_path / "pred")])
    assert rc == 0
    pred = json.loads((tmp_path / "pred" / "predictions.json").read_text())
    assert pred
    rc = main(["evaluate", "--gt", str(ann), "--model", "blazepose-torch", "--weights",
               str(out / "model.pt"), "--out", str(tmp_path / "report")])
    assert rc == 0
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics


def _final(out):
    ck = torch.load(out / "last.pt", weights_only=True)
    return ck["state_dict"], ck["training_state"]


def test_resume_after_interruption_continues_exactly(tiny, tmp_path):
    from infantpose.train.loop import train

    ref = tmp_path / "ref"
    train(_cfg(tiny, ref), progress=False, log=lambda s: None)
    sd_ref, ts_ref = _final(ref)

    class Killed(Exception):
        pass

    def die(step):
        if step == 3:  # mid-epoch: 10 training images / batch 2 = 5 steps per epoch
            raise Killed

    out = tmp_path / "run"
    with pytest.raises(Killed):
        train(_cfg(tiny, out), progress=False, log=lambda s: None, on_step=die)
    _, ts_mid = _final(out)
    assert ts_mid["state"]["step"] == 3 and not ts_mid["state"]["finished"]
    msgs = []
    train(_cfg(tiny, out), progress=False, log=msgs.append)
    assert any("resuming" in m for m in msgs)
    assert not any(m.startswith(("reading ", "caching ")) for m in msgs)  # -q: no progress lines
    sd, ts = _final(out)
    assert ts["state"]["step"] == ts_ref["state"]["step"] == 6
    assert [r["epoch"] for r in ts["state"]["history"]] == [r["epoch"] for r in ts_ref["state"]["history"]]
    opt_steps = {int(s["step"]) for s in ts["optimizer"]["state"].values()}
    assert opt_steps == {6}  # optimiser state continued, not restarted
    for k in sd_ref:
        assert torch.allclose(sd[k], sd_ref[k], atol=1e-6), k
    # a finished run is not trained again
    msgs = []
    train(_cfg(tiny, out), progress=False, log=msgs.append)
    assert any("already holds a finished run" in m for m in msgs)


def test_memory_replay_and_mse_train(tiny, tmp_path):
    from infantpose.train.loop import train

    out = tmp_path / "replay"
    cfg = _cfg(tiny, out, loss="mse", adapt={"memory_replay": True},
               model={"output": "heatmap"}, optim={"max_steps": 2, "checkpoint_every": 0})
    train(cfg, progress=False, log=lambda s: None)
    hist = torch.load(out / "last.pt", weights_only=True)["training_state"]["state"]["history"]
    assert hist[0]["replay_loss"] > 0
    assert torch.load(out / "model.pt", weights_only=True)["heatmap_activation"] == "sigmoid"


def _run_cli(args):
    return subprocess.run([sys.executable, "-m", "infantpose", *args], capture_output=True,
                          text=True, timeout=300)


def test_bad_inputs_fail_before_training(tiny, tmp_path):
    out = tmp_path / "bad"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: [{tiny / 'syn' / 'annotations.json'}]\nout: {out}\nlr: 0.1\n")
    assert main(["train", str(cfg)]) == 2
    assert not out.exists()
    # (every pair of built-in schemas has a mapping now; a schema without one is refused by
    # get_mapping, tests/test_schemas.py)
    assert not (out / "model.pt").exists() and not (out / "last.pt").exists()
    assert main(["train", "--data", str(tmp_path / "nope.json"), "--out", str(out)]) == 2
    assert main(["train", "--synthetic", "4", "--out", str(out), "--resume"]) == 2


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tiny, tmp_path):
    out = tmp_path / "killed"
    args = ["train", "--synthetic-data", str(tiny / "syn" / "annotations.json"), "--max-steps", "8",
            "--batch-size", "2", "--threads", "1", "--out", str(out), "-q"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("optim: {checkpoint_every: 1, patience: 9}\nmodel: {freeze: [features]}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "infantpose", *args[:1], str(cfg), *args[1:]],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    step = 0
    while time.time() < deadline and p.poll() is None:
        time.sleep(0.5)
        try:
            step = torch.load(out / "last.pt", weights_only=True)["training_state"]["state"]["step"]
        except Exception:  # noqa: BLE001 - not written yet or being replaced
            continue
        if step >= 2:
            break
    assert p.poll() is None, p.stderr.read().decode()[-2000:]
    p.send_signal(signal.SIGKILL)
    p.wait()
    ts = torch.load(out / "last.pt", weights_only=True)["training_state"]
    killed_at = ts["state"]["step"]
    assert 2 <= killed_at < 8 and not ts["state"]["finished"]
    r = subprocess.run([sys.executable, "-m", "infantpose", "train", str(cfg), *args[1:]], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"step {killed_at}" in r.stderr and "resuming" in r.stderr
    ts = torch.load(out / "last.pt", weights_only=True)["training_state"]
    assert ts["state"]["step"] == 8 and ts["state"]["finished"]
    assert {int(s["step"]) for s in ts["optimizer"]["state"].values()} == {8}


def test_time_limit_ends_the_run_with_a_validated_model(tiny, tmp_path):
    from infantpose.train.loop import train

    out = tmp_path / "timed"
    msgs = []
    train(_cfg(tiny, out, optim={"time_limit": 1e-4, "max_steps": 50}), progress=False,
          log=msgs.append)
    st = torch.load(out / "last.pt", weights_only=True)["training_state"]["state"]
    assert st["finished"] and st["step"] == 1 and len(st["history"]) == 1
    assert (out / "model.pt").is_file() and any("time limit" in m for m in msgs)


def test_pose_resnet_trains_with_domain_adaptation(tiny, tmp_path):
    from infantpose.models.checkpoint import load_checkpoint
    from infantpose.train.loop import train

    out = tmp_path / "resnet"
    cfg = _cfg(tiny, out, model={"arch": "pose-resnet", "depth": 18, "input_size": [64, 64],
                                 "freeze": ["fidip"]},
               data=[{"path": str(tiny / "syn" / "annotations.json"), "domain": "synthetic"},
                     {"path": str(tiny / "coco" / "annotations.json"), "domain": "real"}],
               adapt={"domain_adaptation": True}, loss="mse",
               optim={"max_steps": 2, "checkpoint_every": 0})
    train(cfg, progress=False, log=lambda s: None)
    loaded = load_checkpoint(out / "model.pt")
    assert loaded.architecture == "pose_resnet" and loaded.input_size == (64, 64)
    assert loaded.heatmap_activation == "none"
    hist = torch.load(out / "last.pt", weights_only=True)["training_state"]["state"]["history"]
    assert hist[-1]["domain_loss"] > 0


def test_train_never_replaces_or_deletes_a_users_files(tiny, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "model.pt").write_text("my own model")
    (out / "metrics.csv").write_text("my notes")
    for extra in ([], ["--fresh"]):
        rc = main(["train", "--data", str(tiny / "coco" / "annotations.json"), "--out", str(out),
                   "--max-steps", "1", "-q", *extra])
        assert rc == 2
        assert "not written by infantpose" in capsys.readouterr().err
    assert (out / "model.pt").read_text() == "my own model"
    assert (out / "metrics.csv").read_text() == "my notes"
