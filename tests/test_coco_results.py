"""COCO keypoint results (predict's predictions.json) live in io/: write -> read keeps every
present keypoint, the missing ones (0, 0, 0 in the file), scores, names and extra fields."""

import json

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.io.coco_results import (coco_results, instance_score, read_coco_results,
                                        write_coco_results)


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.uniform(10, 300, (2, 17, 2)), rng.uniform(0.1, 1, (2, 17, 1))], -1)
    kp[0, 3] = [np.nan, np.nan, 0.0]  # missing: written 0, 0, 0
    kp = np.round(kp, 3)
    entries = coco_results(7, "a/b.jpg", kp, "coco17", (320, 240),
                           extra={"rotation": [0, 90], "model": "m"})
    entries += coco_results(8, "c.jpg", np.full((1, 17, 3), np.nan), "coco17", (320, 240))
    assert len(entries) == 2  # an instance without keypoints is no result
    path = write_coco_results(tmp_path / "predictions.json", entries)
    raw = json.loads(path.read_text())
    assert raw[0]["keypoints"][9:12] == [0.0, 0.0, 0.0] and raw[1]["rotation"] == 90
    back = read_coco_results(path)
    assert [e.file_name for e in back] == ["a/b.jpg", "a/b.jpg"]
    assert [e.image_id for e in back] == [7, 7] and back[0].schema.name == "coco17"
    for e, want in zip(back, kp):
        assert np.allclose(e.keypoints, want, equal_nan=True)
        assert e.score == pytest.approx(instance_score(want), abs=1e-6)
    assert back[1].fields["rotation"] == 90 and back[0].fields["model"] == "m"
    assert back[0].fields["bbox"][0] >= 0


def test_bad_files_are_one_line_errors(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"images": []}))
    with pytest.raises(InputError, match="p.json: not a COCO results file"):
        read_coco_results(p)
    p.write_text(json.dumps([{"image_id": 1, "keypoints": ["1"] * 51, "score": 1}]))
    with pytest.raises(InputError, match="p.json"):
        read_coco_results(p)
    p.write_text(json.dumps([{"image_id": 1, "keypoints": [1.0] * 50}]))
    with pytest.raises(InputError, match="x, y, score"):
        read_coco_results(p)
