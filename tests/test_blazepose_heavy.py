"""The heavy BlazePose network in mediapipe's runtime: found in the models folder (never
downloaded, nothing written inside site-packages), the same graphs and searches as full."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.examples import hopper_image
from infantpose.models import blazepose as bp
from infantpose.models import create_estimator, store


def _heavy_installed() -> bool:
    try:
        store.model_file("blazepose-heavy")
        return True
    except InputError:
        return False


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if "__pycache__" in p.parts:
            continue
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(str(p.stat().st_size).encode())
    return h.hexdigest()


def test_missing_heavy_network_is_one_line_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "empty"))
    with pytest.raises(InputError) as e:
        create_estimator("blazepose-heavy", schema="coco17")
    assert "infantpose models fetch blazepose-heavy" in str(e.value)
    with pytest.raises(InputError, match="landmark_model must be one of"):
        bp.BlazePose(landmark_model="giant")


def test_full_stays_the_wheel_file():
    paths = bp.weights_paths()
    assert paths["landmark"].name == "pose_landmark_full.tflite"
    assert bp._resource_root(paths["landmark"]) is None


@pytest.mark.skipif(not _heavy_installed(), reason="heavy not installed "
                    "(infantpose models fetch blazepose-heavy; make install does it)")
def test_heavy_runs_in_the_runtime_without_touching_the_wheel():
    wheel = bp.weights_paths()["detector"].parents[2]
    before = _tree_digest(wheel)
    image = hopper_image()
    with bp.BlazePose(schema="blazepose33", mirror_test=False) as full:
        pf = full.predict(image)
    with create_estimator("blazepose-heavy", schema="blazepose33", mirror_test=False) as heavy:
        assert heavy.name == "blazepose-heavy"
        ph = heavy.predict(image)
        # another graph built in between resets mediapipe's process-wide resource folder;
        # the heavy estimator's own graphs were loaded already and keep working
        with bp.BlazePose(schema="blazepose33", mirror_test=False) as other:
            other.predict(image)
        ph2 = heavy.predict(image)
        # the landmark-only path (its own graph, built now) loads heavy too
        roi = heavy._landmark_graph()
        assert roi is not None
    assert pf.meta["found"] == [True] and ph.meta["found"] == [True]
    np.testing.assert_allclose(ph.data, ph2.data, atol=1e-6)
    d = np.nanmean(np.abs(pf.data[0, 0, :, :2] - ph.data[0, 0, :, :2]))
    h, w = image.shape[:2]
    # two different networks: different numbers, the same person
    assert 0 < d < 0.1 * max(h, w)
    assert _tree_digest(wheel) == before
    assert not (wheel / "modules" / "pose_landmark" / "pose_landmark_heavy.tflite").exists()
