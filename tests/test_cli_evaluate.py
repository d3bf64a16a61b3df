import json

import numpy as np
import pandas as pd
import pytest

import helpers_labels as H
from infantpose.cli import main
from infantpose.io.images import read_image
from infantpose.io.coco import write_coco
from infantpose.models import register_estimator


@pytest.fixture()
def labelled(tmp_path):
    ds = H.make_dataset(tmp_path / "data", "infant22", n_images=3, n_instances=1, drop=0)
    gt = write_coco(ds, tmp_path / "data" / "labels.json")
    return ds, gt


def _results(ds, shift=0.0, schema="infant22", conv=None):
    poses = ds.poses if conv is None else ds.poses.convert(conv)
    out = []
    for i, name in enumerate(ds.image_names):
        kp = np.nan_to_num(poses.data[i, 0]).copy()
        kp[:, 0] += np.where(kp[:, 2] > 0, shift, 0)
        out.append({"image_id": i + 1, "file_name": name, "category_id": 1, "score": 0.9,
                    "keypoints": kp.ravel().tolist(), "bbox": [0, 0, 1, 1],
                    "schema": conv or schema})
    return out


def test_evaluate_two_prediction_files(tmp_path, labelled, capsys):
    ds, gt = labelled
    (tmp_path / "good.json").write_text(json.dumps(_results(ds)))
    (tmp_path / "coco.json").write_text(json.dumps(_results(ds, 0.5, conv="coco17")))
    out = tmp_path / "report"
    code = main(["evaluate", "--gt", str(gt), "--pred", str(tmp_path / "good.json"),
                 "--pred", str(tmp_path / "coco.json"), "--name", "perfect", "--name", "c17",
                 "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "perfect" in text and "c17" in text and "scored 15 keypoints" in text
    m = json.loads((out / "metrics.json").read_text())
    perfect, c17 = m["models"]
    assert perfect["metrics"]["AP"] == pytest.approx(1.0)
    assert perfect["metrics"]["PCKsh@0.02"] == pytest.approx(1.0)
    assert len(perfect["scored_keypoints"]) == 22
    assert "vertex" in c17["not_scored"] and len(c17["scored_keypoints"]) == 15
    kp = pd.read_csv(out / "per_keypoint.csv")
    assert set(kp["model"]) == {"perfect", "c17"} and len(kp) == 22 + 15
    assert (out / "pcksh_per_keypoint.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob(".*tmp*"))


def test_evaluate_runs_a_model(tmp_path, labelled, capsys):
    ds, gt = labelled
    register_estimator("fake-test", "helpers_labels:create_fake", "test double")
    H.FAKE_ANSWERS.clear()
    H.FAKE_CALLS.clear()
    conv = ds.poses.convert("coco17")
    for i, p in enumerate(ds.image_paths):
        H.FAKE_ANSWERS[H.image_digest(read_image(p))] = conv.data[i]
    code = main(["evaluate", "--gt", str(gt), "--model", "fake-test", "--out",
                 str(tmp_path / "r")])
    assert code == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"][0]
    assert m["name"] == "fake-test" and m["metrics"]["AP"] == pytest.approx(1.0)
    assert len(H.FAKE_CALLS) == 3 and H.FAKE_CALLS[0].shape == (1, 4)  # labelled boxes given


@pytest.mark.parametrize("args, message", [
    (["--pred", "MISSING"], "file not found"),
    ([], "at least one --pred"),
    (["--pred", "BAD"], "invalid JSON"),
])
def test_evaluate_errors(tmp_path, labelled, capsys, args, message):
    _, gt = labelled
    (tmp_path / "BAD").write_text("[{")
    args = [str(tmp_path / a) if a in ("MISSING", "BAD") else a for a in args]
    code = main(["evaluate", "--gt", str(gt), *args, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error:")
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_convert_cli_round_trip(tmp_path, labelled, capsys):
    ds, gt = labelled
    assert main(["convert", str(gt), str(tmp_path / "lm"), "--to", "labelme"]) == 0
    assert main(["convert", str(tmp_path / "lm"), str(tmp_path / "c17.json"), "--to", "coco",
                 "--schema", "coco17"]) == 0
    assert "left_ear" in capsys.readouterr().out
    d = json.loads((tmp_path / "c17.json").read_text())
    assert d["categories"][0]["schema"] == "coco17"
    assert main(["convert", str(gt), str(tmp_path / "x.txt"), "--to", "coco"]) == 2
    assert main(["convert", str(gt), str(tmp_path / "y"), "--to", "yaml"]) == 2


def test_evaluate_coco_labels_and_poses_json_as_predictions(tmp_path, labelled):
    ds, gt = labelled
    ds.poses.save_json(tmp_path / "poses.json")
    code = main(["evaluate", "--gt", str(gt), "--pred", str(gt), "--pred",
                 str(tmp_path / "poses.json"), "--out", str(tmp_path / "r")])
    assert code == 0
    models = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"]
    assert [m["name"] for m in models] == ["labels", "poses"]
    for m in models:
        assert m["metrics"]["AP"] == pytest.approx(1.0)
        assert m["metrics"]["mKS"] == pytest.approx(1.0)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r[0]["keypoints"].pop(), "must be a list of x, y, score"),
    (lambda r: r[0].pop("keypoints"), "lacks 'keypoints'"),
    (lambda r: r[1].__setitem__("schema", "coco17"), "has 22"),
    (lambda r: [(e.pop("schema"), e["keypoints"].__delitem__(slice(0, 3))) for e in r],
     "cannot tell the schema"),
])
def test_malformed_predictions(tmp_path, labelled, capsys, mutate, message):
    ds, gt = labelled
    res = _results(ds)
    mutate(res)
    (tmp_path / "p.json").write_text(json.dumps(res))
    code = main(["evaluate", "--gt", str(gt), "--pred", str(tmp_path / "p.json"),
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "p.json") in err and message in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


@pytest.mark.slow
def test_blazepose_on_synthetic_infants(tmp_path):
    """End to end with the real off-the-shelf model on a few synthetic labelled renders."""
    assert main(["synth", "--n", "3", "--out", str(tmp_path / "s"), "--schema", "infant22"]) == 0
    code = main(["evaluate", "--gt", str(tmp_path / "s" / "annotations.json"),
                 "--model", "blazepose", "--no-gt-boxes", "--out", str(tmp_path / "r")])
    assert code == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"][0]
    assert len(m["scored_keypoints"]) == 19
    assert set(m["not_scored"]) == {"vertex", "upper_lip", "lower_lip"}
    assert 0.0 <= m["metrics"]["PCKsh@0.1"] <= 1.0 and m["counts"]["images"] == 3
