"""Reading a YAML file with one-line errors (beside :mod:`infantpose._jsonfile`).

PyYAML raises more than ``YAMLError`` on hostile text: ``UnicodeDecodeError`` for a file that is
not UTF-8, ``RecursionError`` for deep nesting (its composer recurses once per level) and
``ValueError`` for an integer longer than Python converts. :func:`read_yaml` turns each into an
:class:`~infantpose.errors.InputError` naming the file, and refuses nesting deeper than
:data:`~infantpose._jsonfile.MAX_DEPTH` levels, aliases that refer to themselves, and aliases that
expand to more than :data:`MAX_VALUES` values, so that what it returns can be walked and written
back out safely.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from infantpose._jsonfile import MAX_DEPTH
from infantpose.errors import InputError

__all__ = ["MAX_VALUES", "read_yaml"]


#: Most values a YAML file may stand for once its aliases are expanded (a "billion laughs"
#: file of a few lines stands for 10^9 values: anything that walks or writes it would hang).
MAX_VALUES = 1_000_000


def _shape(value: Any) -> tuple[int, int]:
    """(depth, number of values once aliases are expanded) of loaded YAML; depth -1 for a
    structure that contains itself (``&a [*a]``). Each node is visited once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (list, dict)):
            continue
        key = id(node)
        kids = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        if done:
            open_.discard(key)
            parts = [(size.get(id(k), 1), depth.get(id(k), 0)) for k in kids]
            size[key] = 1 + sum(s for s, _ in parts)
            depth[key] = 1 + max((d for _, d in parts), default=0)
            continue
        if key in size:
            continue
        if key in open_:
            return -1, 0
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if isinstance(k, (list, dict)))
    return depth.get(id(value), 0), size.get(id(value), 1)


def read_yaml(path: str | os.PathLike, what: str = "YAML") -> Any:
    """The parsed content of a YAML file (``None`` when empty); InputError naming the file when it
    is missing, unreadable, not UTF-8, not valid YAML, or nested too deeply. ``what`` names the
    kind of file in the messages (e.g. "config file")."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, f"{what} not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(p, f"invalid YAML (not UTF-8 text: byte {e.object[e.start]:#04x} at "
                            f"offset {e.start})") from None
    except OSError as e:
        raise InputError(p, f"cannot read ({e.strerror or e})") from None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InputError(p, f"invalid YAML ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise InputError(p, f"invalid YAML (nested too deeply; at most {MAX_DEPTH} levels are "
                            "accepted)") from None
    except ValueError:  # an integer beyond Python's conversion limit
        raise InputError(p, "invalid YAML (a number longer than "
                            f"{sys.get_int_max_str_digits()} digits)") from None
    depth, size = _shape(value)
    if depth < 0:
        raise InputError(p, "invalid YAML (an alias refers to a value that contains it)")
    if depth > MAX_DEPTH:
        raise InputError(p, f"invalid YAML (nested {depth} levels deep; at most {MAX_DEPTH} are "
                            "accepted)")
    if size > MAX_VALUES:
        raise InputError(p, f"invalid YAML (its aliases expand to {size:,} values; at most "
                            f"{MAX_VALUES:,} are accepted)")
    return value
