"""The label project's SQLite store, kept importable here: it lives in
:mod:`infantpose.io.label_store`, so that ``read_labels`` (in ``io``) can open a project without
importing the labelling tool above it."""

from infantpose.io.label_store import (ABSENT, ACCEPTED, CORRECTED, DB_NAME, OCCLUDED, PROPOSED,
                                       STORE_VERSION, TABLES, VISIBLE, FrameRow, Store,
                                       is_project)

__all__ = ["ABSENT", "ACCEPTED", "CORRECTED", "DB_NAME", "OCCLUDED", "PROPOSED", "STORE_VERSION",
           "TABLES", "VISIBLE", "FrameRow", "Store", "is_project"]
