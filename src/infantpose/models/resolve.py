"""Which registered model runs for a name, a checkpoint file, or both.

One place for the rule every entry point follows (the commands' ``--model`` / ``--weights``, and
:class:`infantpose.PoseModel`): a checkpoint says what it is, so a weights file alone runs the
model the file holds; a model that cannot run the file is refused, naming the one that can.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from infantpose.errors import InputError

__all__ = ["ALIASES", "DEFAULT_MODEL", "DEFAULT_VIDEO_MODEL", "MIRRORING_MODELS", "model_options",
           "resolve_model"]

#: The model run when neither a model nor weights are given: MoveNet Thunder (installed by
#: ``make install`` / ``infantpose models fetch movenet-thunder``), the most accurate pretrained
#: network on real infant photos (docs/models.md: val240 AP 0.78 without boxes, BlazePose full
#: 0.55, heavy 0.62; better in every posture).
DEFAULT_MODEL = "movenet"

#: The model run on videos when neither a model nor weights are given: the mediapipe runtime
#: (BlazePose full, in the wheel), which follows the infant in its own video mode at about 25
#: frames/s on 2 cores; MoveNet's single-frame passes cost several times that per frame
#: (``benchmarks/models_speed.py``). ``--model movenet`` runs the more accurate network on
#: videos too.
DEFAULT_VIDEO_MODEL = "blazepose"

#: Registered models that take ``mirror_test`` (test-time mirroring of photos).
MIRRORING_MODELS = ("blazepose", "blazepose-heavy", "movenet", "movenet-lightning")

#: Short names a scientist may type for the pretrained networks.
ALIASES = {"full": "blazepose", "heavy": "blazepose-heavy", "thunder": "movenet",
           "lightning": "movenet-lightning"}


def resolve_model(model: str | None, weights: str | os.PathLike | None,
                  video: bool = False) -> str:
    """The registered model to run for ``model`` / ``weights``.

    ``weights`` alone runs the model the checkpoint holds (``blazepose-torch`` for BlazePose
    checkpoints, ``pose-resnet`` for Pose-ResNet ones, ``onnx`` for ``.onnx`` files); a
    ``model`` that cannot run the file is refused with the model that can; a model registered
    by the user is trusted with its weights. Neither given: :data:`DEFAULT_MODEL` for photos,
    :data:`DEFAULT_VIDEO_MODEL` for videos (``video``).
    """
    model = ALIASES.get(model, model) if model is not None else None
    if weights is None:
        return model or (DEFAULT_VIDEO_MODEL if video else DEFAULT_MODEL)
    if Path(weights).suffix.lower() == ".onnx":  # not a torch checkpoint: the onnx model runs it
        return model or "onnx"
    if Path(weights).suffix.lower() == ".json" and model is not None:
        return model  # a TF.js graph (MoveNet's own format): the named model reads it
    # (imported here: checkpoint imports torch, seconds the CLI should not pay at start-up)
    from infantpose.models.checkpoint import MODEL_OF_ARCHITECTURE, checkpoint_model

    if model is not None and model not in {DEFAULT_MODEL, "blazepose",
                                           *MODEL_OF_ARCHITECTURE.values()}:
        return model  # a model registered by the user reads its own weights file, any format
    name, arch = checkpoint_model(weights)
    if model is None or model == name:
        return name
    raise InputError(weights, f"checkpoint holds a {arch} model, which --model {name} runs, "
                              f"not --model {model} (leave out --model to use the file's)")


def model_options(model: str, mirror_test: bool | None = None) -> dict[str, Any]:
    """The estimator options of the shared model flags: ``--mirror-test/--no-mirror-test``
    (None: not given) is an option of the models that mirror (:data:`MIRRORING_MODELS`);
    refused for other models."""
    if mirror_test is None:
        return {}
    if model not in MIRRORING_MODELS:
        flag = "--mirror-test" if mirror_test else "--no-mirror-test"
        raise InputError(None, f"{flag} applies to the {', '.join(MIRRORING_MODELS)} models "
                               f"only, not {model!r}")
    return {"mirror_test": bool(mirror_test)}
