"""The ``infantpose schemas`` workflow: the keypoint schemas, and for one schema what each
other schema provides for its keypoints (the generalized converter's mappings)."""

from __future__ import annotations

from dataclasses import dataclass

from infantpose.errors import InfantPoseError
from infantpose.schemas import SCHEMAS, Schema, get_mapping, get_schema

__all__ = ["SchemaDetail", "list_schemas", "schema_detail"]


def list_schemas() -> list[Schema]:
    """Every registered schema, in registry order."""
    return list(SCHEMAS.values())


@dataclass
class SchemaDetail:
    """One schema, and for each other schema that maps onto it, the source keypoints of each of
    its keypoints (``sources[other][i]``: names combined into keypoint ``i``; empty: missing)."""

    schema: Schema
    sources: dict[str, list[tuple[str, ...]]]


def schema_detail(name: str) -> SchemaDetail:
    """The schema ``name`` with what every other schema provides for it (schemas with no
    mapping onto it are left out)."""
    s = get_schema(name)
    sources: dict[str, list[tuple[str, ...]]] = {}
    for o in SCHEMAS.values():
        if o.name == s.name:
            continue
        try:
            sources[o.name] = [tuple(src) for src in get_mapping(o, s).sources]
        except InfantPoseError:
            continue
    return SchemaDetail(s, sources)
