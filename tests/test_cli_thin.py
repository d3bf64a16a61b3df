"""``cli/`` parses and prints; the workflows live in ``infantpose.pipelines`` (issue 21).

Read with :mod:`ast` (nothing is imported). For every command module that has a pipeline:

* it imports from infantpose only the command line itself (``infantpose.cli``), the pipelines,
  the error types, and the few printing helpers and option choices listed in ``PRINTING``;
* its command functions are short and hold no ``with`` block (the locks, progress bars and
  temporary files of a job are the pipeline's).

And the pipelines print nothing and know nothing of the command line: no ``print()``, no
typer, click or rich; what a user should see while a job runs goes to a ``log`` callback.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "infantpose"

#: The command modules, each with its pipeline (``video``: deidentify, batch, filter, overlay).
COMMANDS = ["adapt", "convert", "evaluate", "examples", "features", "label", "models", "predict",
            "risk", "schemas", "synth", "train", "video"]

#: (module, name) a command module may import besides cli, pipelines and errors -> why.
PRINTING = {
    ("infantpose.evaluate.report", "summary_table"): "the table evaluate prints",
    ("infantpose.label.stats", "format_stats"): "the text label stats prints",
    ("infantpose.models.store", "CATALOG"): "the choices of `models fetch NAME`",
}

#: The most statements a command function may hold (schemas', which prints a table, is the
#: longest); a workflow moved back into a command exceeds it (train's held 68, filter's 50,
#: deidentify's 38).
MAX_STATEMENTS = 30


def infantpose_imports(tree: ast.AST) -> list[tuple[str, str]]:
    """``(module, name)`` of every infantpose import in ``tree``, wherever it stands."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "infantpose"):
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("infantpose")]
    return found


def wrong_imports(tree: ast.AST) -> list[str]:
    """The infantpose imports of a command module that are neither cli, pipelines, errors nor
    in :data:`PRINTING`."""
    ok_prefixes = ("infantpose.cli", "infantpose.pipelines", "infantpose.errors")
    return [f"{m}.{n}" for m, n in infantpose_imports(tree)
            if not (m.startswith(ok_prefixes) or (m, n) in PRINTING)]


def command_functions(tree: ast.AST) -> list[ast.FunctionDef]:
    """The functions decorated as Typer commands or callbacks (``@app.command(...)``, ...)."""
    def is_command(d: ast.expr) -> bool:
        f = d.func if isinstance(d, ast.Call) else d
        return isinstance(f, ast.Attribute) and f.attr in ("command", "callback")

    return [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
            and any(is_command(d) for d in f.decorator_list)]


def statements(fn: ast.FunctionDef) -> int:
    """Statements in a function's body, nested ones included, its docstring not."""
    body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
    return sum(isinstance(n, ast.stmt) for s in body for n in ast.walk(s))


def job_code(fn: ast.FunctionDef) -> list[str]:
    """What in a command function belongs to a job: ``with`` blocks (a lock, a progress bar, a
    temporary file)."""
    found = []
    for n in ast.walk(fn):
        if isinstance(n, (ast.With, ast.AsyncWith)):
            found.append(f"line {n.lineno}: with")
    return found


def parsed(name: str) -> ast.AST:
    return ast.parse((SRC / "cli" / f"{name}.py").read_text(encoding="utf-8"))


def test_every_listed_command_has_a_pipeline():
    missing = [c for c in COMMANDS if not (SRC / "pipelines" / f"{c}.py").is_file()]
    assert not missing, f"no pipelines/<command>.py for: {missing}"


def test_commands_import_only_cli_pipelines_and_printing():
    bad = {c: wrong_imports(parsed(c)) for c in COMMANDS}
    bad = {c: b for c, b in bad.items() if b}
    assert not bad, f"command modules importing workflow code (move it to pipelines/): {bad}"


def test_command_functions_are_short_and_hold_no_job():
    found = []
    for c in COMMANDS:
        for fn in command_functions(parsed(c)):
            if statements(fn) > MAX_STATEMENTS:
                found.append(f"cli/{c}.py {fn.name}: {statements(fn)} statements")
            found += [f"cli/{c}.py {fn.name} {what}" for what in job_code(fn)]
    assert not found, "workflow in cli/ (move it to pipelines/):\n" + "\n".join(found)


def test_every_command_module_has_commands():
    """The checks above see each module's commands (a renamed decorator would hide them)."""
    empty = [c for c in COMMANDS if not command_functions(parsed(c))]
    assert not empty, f"no command functions found in: {empty}"


def test_pipelines_do_not_print():
    found = []
    for path in sorted((SRC / "pipelines").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "print":
                found.append(f"{path.name}:{node.lineno}: print()")
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}:{node.lineno}: imports {n}" for n in names
                      if n.split(".")[0] in ("typer", "click", "rich")]
    assert not found, "pipelines that print or parse the command line:\n" + "\n".join(found)


def test_checks_find_what_they_look_for():
    """A command that does the work itself is reported by each check."""
    src = ("import typer\n"
           "from infantpose.cli import app\n"
           "from infantpose.errors import InputError\n"
           "@app.command('x')\n"
           "def x_cmd(out: str) -> None:\n"
           "    '''Docstring.'''\n"
           "    from infantpose.outputs import Outputs\n"
           "    from infantpose.evaluate.report import summary_table, write_report\n"
           "    from infantpose.pipelines.x import run_x\n"
           "    with Outputs('x').lock():\n"
           + "".join(f"        a{i} = {i}\n" for i in range(MAX_STATEMENTS)))
    tree = ast.parse(src)
    assert wrong_imports(tree) == ["infantpose.outputs.Outputs",
                                   "infantpose.evaluate.report.write_report"]
    (fn,) = command_functions(tree)
    assert statements(fn) == MAX_STATEMENTS + 4  # 3 imports, the with, not the docstring
    assert job_code(fn) == ["line 10: with"]
