"""Synthetic infants with exact labels (issue 5).

An articulated ellipsoid infant (:mod:`.body`) is posed by a posture sampler (:mod:`.poses`),
ray-cast in pure numpy (:mod:`.render`) into a styled scene (:mod:`.scene`), and labelled exactly
from its 3D joints (:mod:`.labels`). :func:`generate` returns images and a
:class:`~infantpose.datasets.LabeledDataset`; :func:`write_dataset` writes JPEGs plus COCO JSON;
:func:`write_clip` (:mod:`.clips`) writes a short video with per-frame labels.
"""

from infantpose.synth.clips import render_clip, write_clip
from infantpose.synth.generate import (
                                       FRAMINGS,
                                       Sample,
                                       Scene,
                                       generate,
                                       parse_size,
                                       render_frame,
                                       render_sample,
                                       sample_scene,
                                       write_dataset,
)
from infantpose.synth.poses import POSTURES
from infantpose.synth.scene import STYLES

__all__ = [
                                       "FRAMINGS",
                                       "POSTURES",
                                       "STYLES",
                                       "Sample",
                                       "Scene",
                                       "generate",
                                       "parse_size",
                                       "render_clip",
                                       "render_frame",
                                       "render_sample",
                                       "sample_scene",
                                       "write_clip",
                                       "write_dataset",
]
