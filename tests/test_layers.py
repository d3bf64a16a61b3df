"""Layers import downward only, and no modules import each other in a circle.

Every module under ``src/infantpose`` is parsed with :mod:`ast` (nothing is imported), and every
import of an infantpose module is collected: at module level, inside functions and classes, and
under ``if TYPE_CHECKING``. An import hidden in a function still makes its module depend on the
other one, so it counts like any other. The layers, lowest first, are those of
``docs/architecture.md`` ("Layers"):

* a module may import modules of its own layer or of a lower one, never of a higher one;
* no set of modules may import one another in a circle (within a package or across packages),
  and no set of packages either (``video`` importing ``features`` while ``features`` imports
  ``video``, even through different modules).

``ALLOWED`` lists the imports that break these rules today, each with why; keep it short, and
remove an entry once it is fixed (a stale entry fails too). Run this file as a script to print
the imports between packages: ``python tests/test_layers.py``.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "infantpose"

#: Lowest first. A name is a top-level module or sub-package of infantpose ("infantpose" itself is
#: the package's ``__init__``, the public facade).
LAYERS: list[tuple[str, set[str]]] = [
    ("core", {"errors", "schemas", "_atomic", "_jsonfile", "_yamlfile", "_native", "_names",
              "_validate", "geometry", "gaps", "poses", "pose_fields", "datasets", "progress",
              "outputs", "_output_guards", "draw", "frames"}),
    ("io", {"io"}),
    ("models", {"models"}),
    ("tasks", {"adapt", "evaluate", "features", "risk", "synth", "video"}),
    ("workflows", {"train", "label", "examples", "pipelines"}),
    ("api", {"api"}),
    ("cli", {"cli", "__main__", "infantpose"}),
]

#: (importing module, imported module) -> why it is still allowed. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """``(dotted name, line)`` of every infantpose name that ``source`` imports, wherever the
    import statement stands (module level, function, class, ``if TYPE_CHECKING``).

    ``from a.b import c`` gives ``a.b.c`` (``c`` may be a module or a name in ``a.b``; see
    :func:`resolve`); relative imports are made absolute.
    """
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            found += [(f"{base}.{a.name}", node.lineno) for a in node.names if a.name != "*"]
            if any(a.name == "*" for a in node.names):
                found.append((base, node.lineno))
    return [(n, line) for n, line in found if n == PACKAGE or n.startswith(PACKAGE + ".")]


def resolve(name: str, modules: set[str]) -> str:
    """The module a dotted import name lives in: the longest prefix that is a module."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}, over every module of the package."""
    files = {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}
    modules = set(files)
    graph: dict[str, dict[str, int]] = {}
    for mod, path in files.items():
        edges: dict[str, int] = {}
        for name, line in imported_names(path.read_text(encoding="utf-8"), mod,
                                         path.name == "__init__.py"):
            target = resolve(name, modules)
            if target != mod and target in modules:
                edges.setdefault(target, line)
        graph[mod] = edges
    return graph


def unit(module: str) -> str:
    """The top-level module or sub-package a module belongs to (its layer's unit)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(module: str) -> int:
    for i, (_, units) in enumerate(LAYERS):
        if unit(module) in units:
            return i
    raise KeyError(module)


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    bad = []
    for mod, edges in graph.items():
        for target, line in edges.items():
            if (mod, target) in ALLOWED:
                continue
            if layer_of(target) > layer_of(mod):
                bad.append(f"{mod}:{line} imports {target} "
                           f"({LAYERS[layer_of(mod)][0]} -> {LAYERS[layer_of(target)][0]})")
    return bad


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if (v, w) in ALLOWED:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def test_every_module_has_a_layer(graph):
    missing = sorted({unit(m) for m in graph if not any(unit(m) in u for _, u in LAYERS)})
    assert not missing, f"place these in LAYERS (and docs/architecture.md): {missing}"


def test_imports_go_downward(graph):
    bad = upward_imports(graph)
    assert not bad, "imports that go up a layer:\n" + "\n".join(bad)


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "modules that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in found)


def package_graph(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The import graph between packages (top-level modules and sub-packages), ``ALLOWED``
    imports left out."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for mod, edges in graph.items():
        out[unit(mod)]
        for target in edges:
            if unit(target) != unit(mod) and (mod, target) not in ALLOWED:
                out[unit(mod)][unit(target)] = 0
    return dict(out)


def test_no_package_cycles(graph):
    found = cycles(package_graph(graph))
    assert not found, "packages that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_allow_list_is_current(graph):
    stale = [f"{a} -> {b}" for a, b in ALLOWED if b not in graph.get(a, {})]
    assert not stale, "fixed, remove from ALLOWED: " + ", ".join(stale)


def test_function_level_and_type_checking_imports_count():
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from infantpose.video.privacy import DeidReport\n"
           "def f():\n    from infantpose.label.store import is_project\n"
           "class C:\n    def g(self):\n        import infantpose.models.base\n"
           "from . import geometry\nfrom ..schemas import COCO17\n")
    names = sorted(n for n, _ in imported_names(src, "infantpose.io.labels", False))
    assert names == ["infantpose.io.geometry", "infantpose.label.store.is_project",
                     "infantpose.models.base", "infantpose.schemas.COCO17",
                     "infantpose.video.privacy.DeidReport"]
    modules = {"infantpose.label.store", "infantpose.io", "infantpose.schemas"}
    assert resolve("infantpose.label.store.is_project", modules) == "infantpose.label.store"
    assert resolve("infantpose.schemas.COCO17", modules) == "infantpose.schemas"


def test_checks_find_what_they_look_for():
    """The checks themselves: an upward import and a circle in a made-up graph are reported."""
    g = {"infantpose.io.coco": {"infantpose.video.pipeline": 3},
         "infantpose.video.pipeline": {"infantpose.video.overlay": 5},
         "infantpose.video.overlay": {"infantpose.video.pipeline": 7},
         "infantpose.geometry": {}}
    assert upward_imports(g) == ["infantpose.io.coco:3 imports infantpose.video.pipeline "
                                 "(io -> tasks)"]
    assert cycles(g) == [["infantpose.video.overlay", "infantpose.video.pipeline"]]
    g = {"infantpose.video.a": {"infantpose.features.b": 1}, "infantpose.features.b": {},
         "infantpose.features.c": {"infantpose.video.d": 2}, "infantpose.video.d": {}}
    assert cycles(g) == []  # no module circle, but a package one
    assert cycles(package_graph(g)) == [["features", "video"]]


if __name__ == "__main__":  # a table of the imports between packages, and what breaks the rules
    g = import_graph()
    between: dict[tuple[str, str], int] = defaultdict(int)
    for m, e in g.items():
        for t in e:
            if unit(m) != unit(t):
                between[unit(m), unit(t)] += 1
    rank = {u: i for i, (_, units) in enumerate(LAYERS) for u in units}
    for (a, b), n in sorted(between.items(), key=lambda x: (rank[x[0][0]], x[0])):
        print(f"{LAYERS[rank[a]][0]:>9}  {a:>12} -> {b:<12} {n:3d}")
    print(f"{sum(len(e) for e in g.values())} imports between {len(g)} modules")
    for line in upward_imports(g):
        print("UP:", line)
    for c in cycles(g):
        print("CYCLE:", " <-> ".join(c))
    for (a, b), why in ALLOWED.items():
        print(f"allowed: {a} -> {b} ({why})")
