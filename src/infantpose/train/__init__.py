"""Training: heatmap losses, datasets for training, domain adaptation and the training loop.

``train(config) -> Path`` fine-tunes a pose model and returns its checkpoint (see
:mod:`infantpose.train.loop`); ``load_config`` / ``config_from_dict`` build a validated
:class:`~infantpose.train.config.TrainConfig`.
"""

from infantpose.train.config import PRESETS, TrainConfig, config_from_dict, load_config

__all__ = ["PRESETS", "TrainConfig", "config_from_dict", "load_config", "train"]


def train(config, resume: bool = True, progress: bool = True, log=None, on_step=None):
    """Fine-tune as ``config`` (a TrainConfig, a dict or a YAML path) says; return the path of
    the best checkpoint (``<out>/model.pt``)."""
    # imported here: the loop loads torch, which `import infantpose.train` (configs) must not
    from infantpose.train.loop import train as _train

    if isinstance(config, dict):
        config = config_from_dict(config)
    elif not isinstance(config, TrainConfig):
        config = load_config(config)
    return _train(config, resume=resume, progress=progress, log=log, on_step=on_step)
