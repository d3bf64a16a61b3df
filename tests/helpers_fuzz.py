"""Hypothesis strategies and checks for fuzzing infantpose's readers and its label API.

A reader is fuzzed from a valid seed document: each example changes one to three nodes of it
(replaces a value by an arbitrary JSON value or a known troublemaker, deletes it, duplicates it,
wraps it, adds a key) or damages its bytes (cuts, inserts, overwrites). Most examples stay
close enough to the format to get deep into the reader, which purely random input never does.

The property every reader must keep: it returns valid data, or raises the project's own
:class:`~infantpose.errors.InfantPoseError` (the CLI's one ``error:`` line, exit 2). Any other
exception is a crash: the CLI would print ``internal error``.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from infantpose.errors import InfantPoseError

#: Values that broke readers before, or sit on a boundary a reader must check.
TROUBLE = [0, -1, 1, 2, 3, 0.5, -0.0, 1e6, 1e308, -1e308, 5e-324, 2**31, 2**63, 2**64, -(2**63),
           10**23, 10**300, math.inf, -math.inf, math.nan, True, False, None, "", " ", "0", "1",
           "1e999", "NaN", "nan", "inf", "x", "a.jpg", "img.png", "../../etc/passwd",
           "/etc/passwd", "C:\\a.png", "a\x00.png", "\udcff", "\ud800", "é", "nose", "left_wrist",
           "coco17", "infant22", "infantpose.poses", [], {}, [[]], [None], [0, 0], [1, 1, 2],
           {"id": 1}]
#: Key names the formats use, so that added keys collide with real ones.
KEYS = ["id", "image_id", "file_name", "width", "height", "keypoints", "num_keypoints", "bbox",
        "area", "iscrowd", "category_id", "categories", "images", "annotations", "name",
        "skeleton", "shapes", "label", "points", "group_id", "shape_type", "imagePath",
        "imageHeight", "imageWidth", "imageData", "format", "version", "schema", "shape",
        "data", "fps", "frame_size", "image_sizes", "frame_names", "frame_indices", "meta",
        "source", "keypoint_names", "x", "y", "score"]

leaves = st.one_of(
    st.sampled_from(TROUBLE).map(copy.deepcopy),  # a fresh [] or {} each time: changed later
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (a tuple of keys and indices) to a node of ``node``, the root first."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _variants(number: int | float) -> list[Any]:
    """A number negated, scaled far out, nudged off a whole value, as text, in a list."""
    out: list[Any] = [-number, str(number), [number]]
    for change in (lambda v: v * 10**6, lambda v: v + 0.5,
                   lambda v: v * (10**300 if isinstance(v, int) else 1e300)):
        try:
            out.append(change(number))
        except OverflowError:  # an int too large for a float
            pass
    return out


@st.composite
def mutated(draw: Any, seed: Any, max_changes: int = 3) -> Any:
    """A copy of the JSON-like ``seed`` with 1..``max_changes`` structural changes."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_changes))):
        path = draw(st.sampled_from(_paths(doc)))
        op = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "wrap",
                                   "add_key", "number"]))
        node = _get(doc, path)
        if op == "add_key" and isinstance(node, dict):
            node[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = draw(json_values)
            continue
        if op == "number" and isinstance(node, (int, float)) and not isinstance(node, bool):
            new: Any = draw(st.sampled_from(_variants(node)))
        elif op == "wrap":
            new = draw(st.sampled_from([[node], {"value": node}]))
        else:
            new = draw(json_values)
        if not path:
            doc = new
            continue
        parent, last = _get(doc, path[:-1]), path[-1]
        if op == "delete":
            del parent[last]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(node))
        else:
            parent[last] = new
    return doc


@st.composite
def damaged_bytes(draw: Any, data: bytes) -> bytes:
    """``data`` cut short, with bytes inserted, overwritten or repeated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        n = len(out)
        pos = draw(st.integers(0, n))
        op = draw(st.sampled_from(["cut", "insert", "overwrite", "repeat"]))
        if op == "cut":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "overwrite" and n:
            pos = min(pos, n - 1)
            chunk = draw(st.binary(min_size=1, max_size=4))
            out[pos:pos + len(chunk)] = chunk
        elif op == "repeat":
            end = draw(st.integers(pos, min(n, pos + 64)))
            out[pos:pos] = out[pos:end]
    return bytes(out)


def json_bytes(doc: Any, ascii_only: bool = True) -> bytes:
    """``doc`` as JSON text (NaN and Infinity written as Python writes them); ``ascii_only``
    False writes characters as UTF-8 (a lone surrogate then gives bytes that are not UTF-8)."""
    text = json.dumps(doc, allow_nan=True, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


def json_inputs(seed: Any) -> st.SearchStrategy[bytes]:
    """Structural changes of ``seed`` (three in four examples), or damage to its bytes."""
    changed = st.builds(json_bytes, mutated(seed), st.booleans())
    return st.one_of(changed, changed, changed, damaged_bytes(json_bytes(seed)))


# --- the property and its tally ------------------------------------------------------------------
@dataclass
class Tally:
    """Outcomes of fuzz cases: read, refused with our error, or crashed (by exception type)."""

    read: int = 0
    refused: int = 0
    crashes: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return self.read + self.refused + sum(self.crashes.values())


def outcome(read: Callable[[], Any], check: Callable[[Any], None] | None = None) -> str:
    """``"read"`` or ``"refused"``; any exception other than InfantPoseError propagates (a
    crash). ``check`` asserts what a successful read returned is valid."""
    try:
        value = read()
    except InfantPoseError as e:
        assert str(e).strip(), "an error without a message"  # the CLI prints it on one line
        return "refused"
    if check is not None:
        check(value)
    return "read"


def fuzz_settings(max_examples: int) -> settings:
    """Bounded, reproducible runs for the default suite (derandomized: the same examples every
    run, no example database), each example under a deadline (10 s: a hang, not a slow
    machine, should fail)."""
    return settings(max_examples=max_examples, deadline=10_000, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def slow_examples() -> int:
    """Examples per fuzzer for the slow runs (``INFANTPOSE_FUZZ_EXAMPLES``, default 1000)."""
    return int(os.environ.get("INFANTPOSE_FUZZ_EXAMPLES", "1000"))


def run_fuzzer(strategy: st.SearchStrategy, case: Callable[[Any], str], max_examples: int,
               slow: bool = False) -> None:
    """Run ``case`` on ``max_examples`` examples of ``strategy``; a crash fails (shrunk)."""
    opts = fuzz_settings(max_examples)
    if slow:  # random examples, a new set every run
        opts = settings(opts, derandomize=False, deadline=None)

    def prop(example: Any) -> None:
        case(example)

    settings(opts)(given(strategy)(prop))()


def tally(strategy: st.SearchStrategy, case: Callable[[Any], str], max_examples: int) -> Tally:
    """Count outcomes over ``max_examples`` generated examples (no shrinking, crashes kept)."""
    t = Tally()

    def record(example: Any) -> None:
        try:
            result = case(example)
        except Exception as e:  # noqa: BLE001 - counting every crash is the point
            key = f"{type(e).__name__}: {str(e)[:120]}"
            t.crashes[key] += 1
            t.examples.setdefault(key, example)
            return
        if result == "read":
            t.read += 1
        else:
            t.refused += 1

    opts = settings(max_examples=max_examples, deadline=None, database=None,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    settings(opts)(given(strategy)(record))()
    return t


def check_dataset(ds: Any) -> None:
    """A LabeledDataset that makes sense: shapes agree, labelled points are finite numbers."""
    data, vis = ds.poses.data, ds.visibility
    assert data.ndim == 4 and data.shape[3] == 3
    assert vis.shape == data.shape[:3]
    assert set(np.unique(vis)) <= {0, 1, 2}
    assert np.isfinite(data[..., :2][vis > 0]).all()
    assert len(ds.image_names) == data.shape[0]


def check_poses(poses: Any) -> None:
    """A Poses whose array has the (frames, instances, keypoints, 3) shape of its schema."""
    assert poses.data.ndim == 4 and poses.data.shape[2:] == (poses.schema.num_keypoints, 3)
    xy = poses.data[..., :2]
    assert np.isnan(xy).all() or np.nanmax(np.abs(xy)) <= 1e6
