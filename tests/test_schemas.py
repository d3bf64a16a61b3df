"""Schemas and the mappings between them: copies, derived keypoints, never-guessed missing ones."""

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.schemas import (
    BLAZEPOSE33,
    COCO17,
    INFANT22,
    SCHEMAS,
    convert_keypoints,
    get_mapping,
    get_schema,
)


def _random_kp(schema, seed=0):
    rng = np.random.default_rng(seed)
    kp = np.empty((schema.num_keypoints, 3))
    kp[:, :2] = rng.uniform(0, 500, (schema.num_keypoints, 2))
    kp[:, 2] = rng.uniform(0.1, 1, schema.num_keypoints)
    return kp


def test_builtin_schemas_sizes():
    assert COCO17.num_keypoints == 17
    assert INFANT22.num_keypoints == 22
    assert BLAZEPOSE33.num_keypoints == 33
    assert {"coco17", "infant22", "blazepose33"} <= set(SCHEMAS)


@pytest.mark.parametrize("schema", [COCO17, INFANT22, BLAZEPOSE33])
def test_edges_and_flip_index(schema):
    e = schema.edge_index
    assert e.shape[1] == 2 and len(e) == len(schema.edges)
    assert e.min() >= 0 and e.max() < schema.num_keypoints
    assert not np.any(e[:, 0] == e[:, 1])
    f = schema.flip_index
    assert np.array_equal(f[f], np.arange(schema.num_keypoints))  # an involution
    for i, name in enumerate(schema.keypoints):
        other = schema.keypoints[f[i]]
        if name.startswith("left_"):
            assert other == "right_" + name[5:]
        elif name.startswith("right_"):
            assert other == "left_" + name[6:]
    assert schema.sigma_array.shape == (schema.num_keypoints,)
    assert np.all(schema.sigma_array > 0)


def test_infant22_has_the_seed_keypoints():
    for k in ("vertex", "upper_lip", "lower_lip", "left_palm", "right_palm", "left_sole",
              "right_sole"):
        assert k in INFANT22.keypoints


def test_blazepose_to_coco_copies():
    kp = _random_kp(BLAZEPOSE33)
    out = convert_keypoints(kp, "blazepose33", "coco17")
    for i, name in enumerate(COCO17.keypoints):
        np.testing.assert_array_equal(out[i], kp[BLAZEPOSE33.index(name)])


def test_derived_palm_is_mean_of_index_and_pinky_with_min_score():
    kp = _random_kp(BLAZEPOSE33, 1)
    out = convert_keypoints(kp, BLAZEPOSE33, INFANT22)
    for side in ("left", "right"):
        a, b = BLAZEPOSE33.index(f"{side}_index"), BLAZEPOSE33.index(f"{side}_pinky")
        p = out[INFANT22.index(f"{side}_palm")]
        np.testing.assert_allclose(p[:2], (kp[a, :2] + kp[b, :2]) / 2)
        assert p[2] == pytest.approx(min(kp[a, 2], kp[b, 2]))
    m = get_mapping("blazepose33", "infant22")
    assert "left_palm" in m.derived and "right_palm" in m.derived


def test_missing_is_never_guessed():
    m = get_mapping("coco17", "infant22")
    assert set(m.missing) == {"vertex", "upper_lip", "lower_lip", "left_palm", "right_palm",
                              "left_sole", "right_sole"}
    out = m.apply(_random_kp(COCO17, 2))
    for name in m.missing:
        i = INFANT22.index(name)
        assert np.isnan(out[i, :2]).all() and out[i, 2] == 0
    assert "vertex" in get_mapping("blazepose33", "infant22").missing


def test_a_missing_source_makes_derived_target_missing():
    kp = _random_kp(BLAZEPOSE33, 3)
    kp[BLAZEPOSE33.index("left_pinky"), :2] = np.nan
    kp[BLAZEPOSE33.index("left_pinky"), 2] = 0
    out = convert_keypoints(kp[None, None], "blazepose33", "infant22")[0, 0]
    i = INFANT22.index("left_palm")
    assert np.isnan(out[i, :2]).all() and out[i, 2] == 0
    assert not np.isnan(out[INFANT22.index("right_palm"), :2]).any()


def test_round_trip_coco_infant_coco_is_lossless():
    kp = _random_kp(COCO17, 4)
    back = convert_keypoints(convert_keypoints(kp, "coco17", "infant22"), "infant22", "coco17")
    missing = [COCO17.index(k) for k in ("left_ear", "right_ear")]  # infant22 has no ears
    keep = [i for i in range(17) if i not in missing]
    np.testing.assert_array_equal(back[keep], kp[keep])
    assert np.isnan(back[missing, :2]).all()


def test_get_schema_lookup_and_errors():
    assert get_schema("COCO-17") is COCO17
    assert get_schema(INFANT22) is INFANT22
    with pytest.raises(InputError, match="unknown schema 'nope'"):
        get_schema("nope")
    with pytest.raises(KeyError, match="coco17"):
        COCO17.index("vertex")
    with pytest.raises(ValueError):
        convert_keypoints(np.zeros((5, 3)), "coco17", "infant22")


def test_coco17_answers_in_blazepose33_with_the_rest_missing():
    m = get_mapping("coco17", "blazepose33")
    assert len(m.provided) == 17 and "left_index" in m.missing and "mouth_left" in m.missing
    out = m.apply(_random_kp(COCO17, 4))
    kp = _random_kp(COCO17, 4)
    np.testing.assert_allclose(out[BLAZEPOSE33.index("left_knee")], kp[COCO17.index("left_knee")])
    assert np.isnan(out[BLAZEPOSE33.index("left_heel"), :2]).all()


def test_a_schema_without_a_mapping_is_refused():
    from dataclasses import replace

    other = replace(COCO17, name="my17")
    with pytest.raises(InputError, match="no keypoint mapping from schema my17"):
        get_mapping(other, "infant22")
