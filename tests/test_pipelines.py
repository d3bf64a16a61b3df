"""The command workflows called from Python (``infantpose.pipelines``): options as a dataclass
(plain strings accepted for paths), a result object back, the command's own checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infantpose.errors import InputError
from infantpose.pipelines.convert import ConvertOptions, run_convert
from infantpose.pipelines.evaluate import EvaluateOptions, run_evaluate
from infantpose.pipelines.synth import SynthOptions, run_synth
from infantpose.pipelines.train import TrainOptions, train_config


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "syn"
    done = run_synth(SynthOptions(str(out), n=3, size="160x120", schema="coco17", quiet=True))
    assert (done.images, done.clips, done.schema) == (3, 0, "coco17")
    assert done.annotations == out / "annotations.json" and done.annotations.is_file()
    return out


def test_convert_then_evaluate_labels_against_themselves(rendered, tmp_path):
    conv = run_convert(ConvertOptions(str(rendered / "annotations.json"),
                                      str(tmp_path / "lm"), "labelme"))
    assert conv.images == 3 and len(conv.files) == 3 and conv.schema == "coco17"
    assert all(Path(f).parent == tmp_path / "lm" for f in conv.files)
    back = run_convert(ConvertOptions(tmp_path / "lm", tmp_path / "back.json", "coco",
                                      images=rendered / "images"))
    assert back.files == [tmp_path / "back.json"] and back.images == 3
    done = run_evaluate(EvaluateOptions(gt=str(rendered / "annotations.json"),
                                        preds=[str(tmp_path / "back.json")], names=["same"],
                                        out=str(tmp_path / "report"), quiet=True))
    (result,) = done.results
    assert result.name == "same" and result.metrics["AP"] == pytest.approx(1.0)
    assert done.paths["metrics"] == tmp_path / "report" / "metrics.json"
    assert json.loads(done.paths["metrics"].read_text())


def test_a_bad_option_fails_before_anything_is_written(rendered, tmp_path):
    with pytest.raises(InputError, match="--map expects LABEL=keypoint"):
        run_convert(ConvertOptions(rendered / "annotations.json", tmp_path / "x.json", "coco",
                                   mapping=["no-equals-sign"]))
    with pytest.raises(InputError, match="--mks-lambda"):
        run_evaluate(EvaluateOptions(gt=rendered / "annotations.json",
                                     preds=[rendered / "annotations.json"], mks_lambda=0,
                                     out=tmp_path / "r"))
    assert list(tmp_path.iterdir()) == []


def test_warn_gets_predictions_of_unlabelled_images(rendered, tmp_path):
    data = json.loads((rendered / "annotations.json").read_text())
    data["images"].append({**data["images"][0], "id": 999, "file_name": "extra.jpg"})
    data["annotations"].append({**data["annotations"][0], "id": 999, "image_id": 999})
    preds = tmp_path / "preds.json"
    preds.write_text(json.dumps(data))
    notes: list[str] = []
    run_evaluate(EvaluateOptions(gt=rendered / "annotations.json", preds=[preds],
                                 out=tmp_path / "r", quiet=True), warn=notes.append)
    assert notes == [f"{preds}: 1 predicted images are not in the labels (ignored)"]


def test_train_options_become_the_config(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text("{}")
    cfg = train_config(TrainOptions(data=[str(labels)], out=str(tmp_path / "run"),
                                    preset="quick", epochs=3, loss="mse", seed=7))
    assert cfg.out == str(tmp_path / "run") and cfg.loss == "mse" and cfg.seed == 7
    assert cfg.optim.epochs == 3 and cfg.optim.max_steps is None  # --epochs beats the preset
    assert [(d.path, d.domain) for d in cfg.data] == [(str(labels), "real")]
    with pytest.raises(InputError, match="give --out DIR"):
        train_config(TrainOptions(data=[labels]))
    with pytest.raises(InputError, match="give --data"):
        train_config(TrainOptions(images=tmp_path, out=tmp_path / "run"))
