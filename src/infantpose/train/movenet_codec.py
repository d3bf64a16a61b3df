"""MoveNet's codec, now in :mod:`infantpose.models.movenet_codec` (codecs live beside the
networks whose outputs they decode); this module keeps the old import path."""

from infantpose.models.movenet_codec import (  # noqa: F401 - re-exported
    CENTRE_BIAS, K, MoveNetCodec, _gaussian, _grid, _window, collate, decode_heads, make_targets,
    person_centre, targets_to_heads)

__all__ = ["CENTRE_BIAS", "MoveNetCodec", "collate", "decode_heads", "make_targets",
           "person_centre", "targets_to_heads"]
