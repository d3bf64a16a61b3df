"""An onnxruntime session for one ONNX pose model, checked against its
:class:`~infantpose.models.onnx_config.OnnxConfig` (input and output shapes), run in batches.

Split out of ``models/onnx_model.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.models.onnx_config import OnnxConfig

__all__: list[str] = []  # private helpers of onnx_model


# --- the session ----------------------------------------------------------------------------------

def _ort():
    try:  # imported here: a missing onnxruntime is a one-line error only for --model onnx
        import onnxruntime
    except ImportError:
        raise InputError(None, "the onnx model needs onnxruntime, which is not installed "
                               "(pip install onnxruntime)") from None
    return onnxruntime


def _dim(d: Any) -> int | None:
    return int(d) if isinstance(d, int) and d > 0 else None


class _Session:
    """An onnxruntime session checked against its config: input (N, 3, H, W), outputs as the
    config's ``output`` kind says, keypoint count equal to the schema's."""

    def __init__(self, path: Path, cfg: OnnxConfig, threads: int | None = None):
        ort = _ort()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises several unrelated types
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(path, f"cannot load ONNX model ({msg[:300]})") from None
        self.path = path
        ins = self.session.get_inputs()
        if len(ins) != 1:
            raise InputError(path, f"expected one image input, the model has {len(ins)} "
                                   f"({', '.join(i.name for i in ins)})")
        shape = list(ins[0].shape)
        if len(shape) != 4 or _dim(shape[1]) not in (None, 3):
            raise InputError(path, f"input {ins[0].name!r} has shape {shape}; expected "
                                   "(N, 3, H, W)")
        self.input_name = ins[0].name
        self.fixed_batch = _dim(shape[0])
        static = (_dim(shape[3]), _dim(shape[2]))  # (w, h)
        where = cfg.source or path
        if cfg.input_size is None:
            if None in static:
                raise InputError(where, "the model's input size is not fixed; give "
                                        "input_size: [w, h] in its sidecar YAML")
            cfg.input_size = (int(static[0]), int(static[1]))  # type: ignore[arg-type]
        elif None not in static and tuple(static) != tuple(cfg.input_size):
            raise InputError(where, f"input_size {list(cfg.input_size)} differs from the "
                                    f"model's input (w, h) = {list(static)}")
        outs = self.session.get_outputs()
        by_name = {o.name: o for o in outs}
        if cfg.outputs is not None:
            missing = [n for n in cfg.outputs if n not in by_name]
            if missing:
                raise InputError(where, f"output {missing[0]!r} not in the model; it has "
                                        f"{', '.join(by_name)}")
            chosen = [by_name[n] for n in cfg.outputs]
        else:
            chosen = list(outs)
        ranks = [len(o.shape) for o in chosen]
        if cfg.output is None:
            if ranks and ranks[0] == 4:
                cfg.output = "heatmap"
            elif len(ranks) >= 2 and ranks[0] == 3 and ranks[1] == 3:
                cfg.output = "simcc"
            else:
                raise InputError(path, "cannot tell heatmap from SimCC outputs: expected one "
                                       "(N, K, H, W) output or two (N, K, bins) outputs, got "
                                       + ", ".join(f"{o.name} {list(o.shape)}" for o in chosen))
        need = 1 if cfg.output == "heatmap" else 2
        if len(chosen) < need:
            raise InputError(path, f"a {cfg.output} model needs {need} outputs, it has "
                                   f"{len(chosen)}")
        chosen = chosen[:need]
        want_rank = 4 if cfg.output == "heatmap" else 3
        for o in chosen:
            if len(o.shape) != want_rank:
                raise InputError(path, f"output {o.name!r} has shape {list(o.shape)}; a "
                                       f"{cfg.output} output is "
                                       + ("(N, K, H, W)" if want_rank == 4 else "(N, K, bins)"))
            k = _dim(o.shape[1])
            if k is not None and k != cfg.schema.num_keypoints:
                raise InputError(path, f"output {o.name!r} has {k} keypoint channels but schema "
                                       f"{cfg.schema.name} has {cfg.schema.num_keypoints} (set "
                                       "schema: in the sidecar YAML)")
        self.output_names = [o.name for o in chosen]

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """(M, 3, h, w) float32 → the chosen outputs for all M (in chunks of the fixed batch)."""
        step = self.fixed_batch or len(batch)
        parts: list[list[np.ndarray]] = []
        for i in range(0, len(batch), step):
            chunk = batch[i:i + step]
            pad = step - len(chunk)
            if pad:  # a fixed batch larger than what is left
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)])
            try:
                out = self.session.run(self.output_names, {self.input_name: chunk})
            except Exception as e:  # noqa: BLE001 - onnxruntime errors are not typed
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise InputError(self.path, f"inference failed ({msg[:300]})") from None
            parts.append([np.asarray(o)[:len(o) - pad] for o in out])
        return [np.concatenate([p[j] for p in parts]) for j in range(len(self.output_names))]
