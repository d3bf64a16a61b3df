"""The command workflows called from Python (``infantpose.pipelines``): options as a dataclass
(plain strings accepted for paths), a result object back, the command's own checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infantpose.errors import InputError
from infantpose.pipelines.convert import ConvertOptions, run_convert
from infantpose.pipelines.evaluate import EvaluateOptions, model_runs, run_evaluate
from infantpose.pipelines.predict import PredictOptions, run_predict
from infantpose.pipelines.synth import SynthOptions, run_synth
from infantpose.pipelines.train import TrainOptions, train_config
from infantpose.pipelines.video import (BatchRunOptions, DeidentifyOptions, FilterOptions,
                                        OverlayOptions, run_batch_videos, run_deidentify,
                                        run_filter, run_overlay)
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


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


@pytest.fixture(scope="module")
def predicted(tmp_path_factory) -> tuple[Path, Path]:
    """A 10-frame clip and the poses ``run_predict`` wrote for it (the clip's marker model)."""
    d = tmp_path_factory.mktemp("predict")
    video = d / "baby.mp4"
    tc.make_clip(video, n_frames=10)
    done = run_predict(PredictOptions(sources=[str(video)], out=str(d / "out"), model=MARKERS,
                                      plot=False, quiet=True))
    assert (done.videos, done.images, done.frames) == (1, 0, 10)
    assert done.corrupt_frames == {str(video): 0}
    poses = d / "out" / "baby" / "poses.json"
    assert poses in done.written and (d / "out" / "baby" / "keypoints.csv") in done.written
    return video, poses


def test_filter_overlay_and_deidentify_from_python(predicted, tmp_path):
    video, poses = predicted
    f = run_filter(FilterOptions(poses=str(poses), out=str(tmp_path / "f.json"), method="savgol",
                                 window=5, csv=str(tmp_path / "f.csv")))
    assert f.written == [tmp_path / "f.json", tmp_path / "f.csv"] and f.config.method == "savgol"
    assert f.jitter is not None and [r[0] for r in f.jitter] == list(f.poses.schema.keypoints)
    assert {"n_rejected", "n_interpolated", "n_low_score"} <= set(f.counts)
    o = run_overlay(OverlayOptions(video=str(video), poses=str(tmp_path / "f.json"),
                                   out=str(tmp_path / "o.mp4"), plot=str(tmp_path / "t.png"),
                                   quiet=True))
    assert o.written == [tmp_path / "o.mp4", tmp_path / "t.png"] and o.frames == 10
    assert o.whole_frame_blurred is None  # the face was not hidden
    d = run_deidentify(DeidentifyOptions(video=str(video), out=str(tmp_path / "d.mp4"),
                                         poses=str(poses), detector=False, quiet=True))
    assert d.out == tmp_path / "d.mp4" and d.report.frames == 10


def test_video_pipelines_refuse_bad_options_before_writing(predicted, tmp_path):
    video, poses = predicted
    with pytest.raises(InputError, match="--out must be a .json file"):
        run_filter(FilterOptions(poses=poses, out=tmp_path / "f.txt"))
    with pytest.raises(InputError, match="--min-score must be between 0 and 1"):
        run_filter(FilterOptions(poses=poses, out=tmp_path / "f.json", min_score=2))
    with pytest.raises(InputError, match="output video must end in"):
        run_overlay(OverlayOptions(video=video, poses=poses, out=tmp_path / "o.txt"))
    with pytest.raises(InputError, match="--margin must be between 0 and 5"):
        run_deidentify(DeidentifyOptions(video=video, out=tmp_path / "d.mp4", margin=9))
    with pytest.raises(InputError, match="--workers must be >= 0"):
        run_batch_videos(BatchRunOptions(video_dir=video.parent, out=tmp_path / "b", workers=-1))
    assert list(tmp_path.iterdir()) == []


def test_model_runs_resolve_evaluate_model_flags(tmp_path):
    runs = model_runs(["blazepose", "pose-resnet"], mirror_test=False)
    assert [(r.name, r.weights, r.options) for r in runs] == [
        ("blazepose", None, {"mirror_test": False}), ("pose-resnet", None, {})]
    with pytest.raises(InputError, match="--mirror-test applies to the pretrained models only"):
        model_runs(["pose-resnet"], mirror_test=True)
    with pytest.raises(InputError, match="give at least one --pred FILE"):
        model_runs([], preds=[])
    assert model_runs([], preds=[tmp_path / "p.json"]) == []
    with pytest.raises(InputError, match="weights file not found"):
        model_runs(["movenet"], weights=str(tmp_path / "nope.pt"))


def test_moved_names_still_import_from_the_cli_modules():
    """Model resolution and the video checks moved out of ``cli/``; old imports still work."""
    from infantpose.cli import predict as cli_predict
    from infantpose.cli import video as cli_video
    from infantpose.cli.predict import DEFAULT_MODEL, MIRRORING_MODELS, resolve_model
    from infantpose.models import resolve
    from infantpose.pipelines import video

    assert (resolve_model, DEFAULT_MODEL, MIRRORING_MODELS) == (
        resolve.resolve_model, resolve.DEFAULT_MODEL, resolve.MIRRORING_MODELS)
    assert cli_video.check_poses_match_video is video.check_poses_match_video
    with pytest.raises(AttributeError):
        cli_predict.no_such_name  # noqa: B018
