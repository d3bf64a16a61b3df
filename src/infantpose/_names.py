"""File names as text: one escaping for every place a name is shown or stored.

Linux file names are bytes; Python hands a name that is not UTF-8 over with surrogates
(``b"\\xff"`` -> ``"\\udcff"``), which JSON writes as ``"\\udcff"``, CSV writers and Matplotlib
refuse, and a terminal cannot show. Every output that stores or shows a file name (manifests,
``predictions.json``, plot titles) writes it through :func:`display_name`: UTF-8 names are kept
as they are, other bytes become ``\\xNN``, the same way everywhere.
"""

from __future__ import annotations

import os

__all__ = ["display_name"]


def display_name(name: str | os.PathLike) -> str:
    """``name`` as printable UTF-8 text (bytes that are not UTF-8 shown as ``\\xNN``)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")
