"""Tiny labelled datasets for the label-format and evaluation tests (images made in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.poses import Poses
from infantpose.schemas import get_schema


def write_image(path: Path, w: int = 64, h: int = 48, seed: int = 0) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def make_dataset(root: Path, schema: str = "infant22", n_images: int = 3, n_instances: int = 1,
                 w: int = 64, h: int = 48, seed: int = 0, drop: int = 2,
                 domains: list[str] | None = None) -> LabeledDataset:
    """Random labelled dataset; ``drop`` keypoints per instance unlabelled, one occluded."""
    s = get_schema(schema)
    rng = np.random.default_rng(seed)
    k = s.num_keypoints
    data = np.zeros((n_images, n_instances, k, 3))
    data[..., 0] = np.round(rng.uniform(2, w - 2, (n_images, n_instances, k)), 2)
    data[..., 1] = np.round(rng.uniform(2, h - 2, (n_images, n_instances, k)), 2)
    data[..., 2] = 1.0
    vis = np.full((n_images, n_instances, k), 2, dtype=int)
    for f in range(n_images):
        for n in range(n_instances):
            idx = rng.choice(k, size=drop + 1, replace=False)
            vis[f, n, idx[:drop]] = 0
            vis[f, n, idx[drop]] = 1
    data[vis == 0] = [np.nan, np.nan, 0.0]
    boxes = np.zeros((n_images, n_instances, 4))
    for f in range(n_images):
        for n in range(n_instances):
            xy = data[f, n, vis[f, n] > 0, :2]
            boxes[f, n] = [*xy.min(0), *(xy.max(0) - xy.min(0))]
    names = [f"img_{i:02d}.png" for i in range(n_images)]
    for i, nm in enumerate(names):
        write_image(root / nm, w, h, seed=i)
    poses = Poses(data, s, frame_names=names, frame_size=(w, h))
    return LabeledDataset(poses, vis, boxes, root, domains or ["real"] * n_images)


def same_labels(a: LabeledDataset, b: LabeledDataset, atol: float = 1e-3) -> bool:
    return (a.schema.name == b.schema.name and a.image_names == b.image_names
            and a.poses.allclose(b.poses, atol=atol)
            and np.array_equal(a.visibility, b.visibility))


# --- a fake estimator for `infantpose evaluate --model` tests ------------------------------------
#: image digest -> (N, K, 3) keypoints the fake estimator returns for that image
FAKE_ANSWERS: dict[str, np.ndarray] = {}
FAKE_CALLS: list = []


def image_digest(image: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class FakeEstimator:
    name = "fake"

    def __init__(self, schema="coco17"):
        self.schema = get_schema(schema or "coco17")

    def predict(self, image, boxes=None):
        FAKE_CALLS.append(None if boxes is None else np.asarray(boxes).copy())
        kp = FAKE_ANSWERS.get(image_digest(image))
        if kp is None:
            return Poses.empty(self.schema, 1, 0)
        return Poses(np.asarray(kp, float)[None], self.schema)


def create_fake(schema=None, weights=None, **options):
    return FakeEstimator(schema)
