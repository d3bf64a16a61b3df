"""One CLI style (issue 12, item 6): every command answers ``--help`` and lists its options; fixed
sets of choices are Enums, listed in ``--help``, and anything else is refused with one line.

Commands are discovered from the Typer app, so a new command is covered without editing this
file.
"""

from __future__ import annotations

import re
import typing
from enum import Enum

import pytest
import typer

from infantpose.cli import app, main

#: Commands whose option names this test holds to the shared conventions (the rest of the
#: commands are smoke-tested with --help only).
CONVENTIONS = {"schemas", "examples", "evaluate", "synth", "train", "adapt", "label", "features",
               "risk"}


def _commands(group=None, path=()):
    """(path, command) for every leaf command of the app."""
    group = group if group is not None else typer.main.get_command(app)
    for name, cmd in sorted(group.commands.items()):
        sub = getattr(cmd, "commands", None)
        if sub:
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


COMMANDS = dict(_commands())
IDS = [" ".join(p) for p in COMMANDS]


def _enum_of(param) -> type[Enum] | None:
    """The Enum a parameter takes (unwrapping Optional and list), or None."""
    ann = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    todo = [ann]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, Enum):
            return t
        todo += list(typing.get_args(t))
    return None


def _choices(param) -> list[str]:
    enum = _enum_of(param)
    if enum is not None:
        return [str(m.value) for m in enum]
    choices = getattr(getattr(param, "type", None), "choices", None)  # click-based Typer
    return [str(c) for c in choices] if choices else []


def _visible(cmd):
    return [p for p in cmd.params if not getattr(p, "hidden", False)]


def _squash(text: str) -> str:
    """The help text without spacing and box drawing, so a wrapped name still matches."""
    return re.sub(r"[\s\u2500-\u257f]+", "", text)


def _help(path, capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no choice list is cut across rows
    capsys.readouterr()
    code = main([*path, "--help"])
    out, err = capsys.readouterr()
    assert code == 0, (path, err)
    assert "Traceback" not in out + err
    return out


def test_every_command_is_found():
    tops = {p[0] for p in COMMANDS}
    assert CONVENTIONS <= tops
    assert {"predict", "convert"} <= tops  # the other commands are covered too
    assert ("label", "start") in COMMANDS and ("risk", "train") in COMMANDS


def test_root_help_lists_every_command(capsys, monkeypatch):
    text = _squash(_help([], capsys, monkeypatch))
    for top in {p[0] for p in COMMANDS}:
        assert top in text, top


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS)
def test_help_lists_options_and_choices(path, capsys, monkeypatch):
    text = _squash(_help(list(path), capsys, monkeypatch))
    cmd = COMMANDS[path]
    assert "Usage" in text
    for p in _visible(cmd):
        for opt in [*p.opts, *getattr(p, "secondary_opts", [])]:
            if opt.startswith("-"):
                assert _squash(opt) in text, (path, opt)
        for choice in _choices(p):
            assert _squash(choice) in text, (path, p.name, choice)


# --- the shared conventions -------------------------------------------------------------------
SHARED = {"out": ("--out", "-o"), "schema": ("--schema", "-s"), "model": ("--model", "-m"),
          "weights": ("--weights", "-w"), "quiet": ("--quiet", "-q"),
          "overwrite": ("--overwrite",)}


@pytest.mark.parametrize("path", [p for p in COMMANDS if p[0] in CONVENTIONS],
                         ids=[i for p, i in zip(COMMANDS, IDS) if p[0] in CONVENTIONS])
def test_one_name_and_short_flag_per_idea(path):
    cmd = COMMANDS[path]
    for p in _visible(cmd):
        if p.name in SHARED and p.opts[0].startswith("-"):
            assert tuple(p.opts) == SHARED[p.name], (path, p.name, p.opts)
        if getattr(p, "is_flag", False) and "progress" in p.name:
            raise AssertionError(f"{path}: progress is --quiet/-q, not {p.opts}")
        assert "--output" not in p.opts and "--deidentify" not in p.opts, (path, p.opts)


LONG = [("train",), ("adapt",), ("label", "start"), ("evaluate",), ("features",),
        ("risk", "train"), ("synth",), ("examples",)]


@pytest.mark.parametrize("path", LONG, ids=[" ".join(p) for p in LONG])
def test_long_commands_have_quiet(path):
    assert any(p.opts[:2] == ["--quiet", "-q"] for p in COMMANDS[path].params), path


def _choice_params():
    for path, cmd in COMMANDS.items():
        if path[0] not in CONVENTIONS:
            continue
        for p in _visible(cmd):
            if _enum_of(p) is not None or p.name == "models":
                yield path, p


CHOICE_PARAMS = list(_choice_params())


def test_the_commands_have_choices():
    named = {(" ".join(path), p.name) for path, p in CHOICE_PARAMS}
    assert {("schemas", "name"), ("synth", "style"), ("synth", "movement"), ("train", "loss"),
            ("train", "preset"), ("label start", "queue"), ("label export", "to"),
            ("risk train", "models"), ("evaluate", "pred_schema")} <= named


@pytest.mark.parametrize("path, param", CHOICE_PARAMS,
                         ids=[f"{' '.join(p)} {q.name}" for p, q in CHOICE_PARAMS])
def test_an_invalid_choice_is_one_line_and_exit_2(path, param, capsys):
    opt = next((o for o in param.opts if o.startswith("--")), None)
    argv = [*path, *([opt] if opt else []), "not-a-choice"]
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "not-a-choice" in lines[0] and (opt or param.name) in lines[0], lines[0]
    assert "Traceback" not in out + err


def test_choices_are_case_insensitive_and_plain_strings(tmp_path, capsys):
    from infantpose.cli._options import SchemaName

    assert main(["schemas", "INFANT22"]) == 0
    assert "infant22" in capsys.readouterr().out
    assert f"{SchemaName.coco17}" == "coco17" and SchemaName.coco17 == "coco17"


def test_enums_match_the_library():
    """The choices are spelled out in the CLI (for a fast --help); they must stay the library's."""
    from infantpose.cli._options import Preset, SchemaName, SynthStyle
    from infantpose.cli.label import ExportFormat, Queue, Uncertainty
    from infantpose.cli.risk import RiskModel
    from infantpose.cli.synth import Movement, SynthSchema
    from infantpose.cli.train import Arch, Crop, Head, Loss
    from infantpose.label.export import FORMATS
    from infantpose.label.queues import QUEUES, UNCERTAINTY
    from infantpose.risk import MODELS
    from infantpose.schemas import SCHEMAS
    from infantpose.synth import STYLES
    from infantpose.synth.clips import MOVEMENTS
    from infantpose.synth.generate import check_schema
    from infantpose.train.config import PRESETS

    def values(e):
        return {m.value for m in e}

    assert values(SchemaName) == set(SCHEMAS)
    assert values(Preset) == set(PRESETS)
    assert values(SynthStyle) == set(STYLES)
    assert values(Movement) == set(MOVEMENTS)
    assert values(Queue) == set(QUEUES) and values(Uncertainty) == set(UNCERTAINTY)
    assert values(ExportFormat) == set(FORMATS)
    assert values(RiskModel) == set(MODELS)
    synth_ok = set()
    for s in SCHEMAS:
        try:
            check_schema(s)
            synth_ok.add(s)
        except Exception:
            pass
    assert values(SynthSchema) == synth_ok
    assert values(Loss) == {"mse", "bce", "kce"} and values(Crop) == {"upright", "box"}
    from infantpose.train.config import MOVENET_ARCHS

    assert values(Arch) == {"blazepose", "pose-resnet", *MOVENET_ARCHS}
    assert values(Head) == {"landmarks", "heatmap"}


def test_old_spellings_still_parse(tmp_path, capsys):
    """train --output/--no-progress and examples DIR are kept as hidden aliases."""
    assert main(["train", "--output", "heatmap", "--no-progress"]) == 2
    assert "give --out DIR" in capsys.readouterr().err  # parsed; stopped at the missing --out
    assert main(["train", "--head", "heatmap", "--output", "landmarks", "-o",
                 str(tmp_path / "r")]) == 2
    assert "disagree" in capsys.readouterr().err
    assert main(["examples", str(tmp_path / "a"), "--out", str(tmp_path / "b")]) == 2
    assert "two output folders" in capsys.readouterr().err
    assert main(["risk", "train", str(tmp_path / "f.csv"), "--labels", str(tmp_path / "l.csv"),
                 "-o", str(tmp_path / "r"), "--models", "logistic,forest", "--models",
                 "boosting"]) == 2
    err = capsys.readouterr().err
    assert "--models" not in err and "f.csv" in err  # the models parsed; the file is missing


# --- documented command lines -----------------------------------------------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _documented_lines():
    """(where, argv) for every ``infantpose <cmd> ...`` line in a code block of the README and
    docs/, for the commands of CONVENTIONS (continuations joined, comments and metasyntax
    lines such as ``[--pred MORE ...]`` left out)."""
    import shlex

    for f in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        block, buf = False, None
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("```"):
                block = not block
                continue
            if not block or (buf is None and not line.strip().startswith("infantpose ")):
                continue
            buf = [f"{f.name}:{i}", line.strip()] if buf is None else [buf[0],
                                                                        buf[1] + " " + line.strip()]
            if buf[1].endswith("\\"):
                buf[1] = buf[1][:-1]
                continue
            argv = shlex.split(re.sub(r"\s+#.*$", "", buf[1]))[1:]
            where, buf = buf[0], None
            if not argv or argv[0] not in CONVENTIONS:
                continue
            if any(t.startswith("[") or "|" in t or t == "..." for t in argv):
                continue
            yield where, argv


DOCUMENTED = list(_documented_lines())


def _parse(argv):
    """Parse (and convert) a command line as the app would, without running the command."""
    cmd = typer.main.get_command(app)
    ctx = cmd.make_context("infantpose", list(argv))
    while getattr(cmd, "commands", None):
        head = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
        name, cmd, rest = cmd.resolve_command(ctx, [*head, *ctx.args])
        ctx = cmd.make_context(name, rest, parent=ctx)
    return ctx


def test_the_docs_have_command_lines():
    assert len(DOCUMENTED) > 30
    assert {argv[0] for _, argv in DOCUMENTED} == CONVENTIONS
    _parse(["synth", "--style", "nicu", "--out", "x"])
    for bad in (["synth", "--style", "space"], ["train", "--no-such-option"]):
        with pytest.raises(Exception):
            _parse(bad)


@pytest.mark.parametrize("where, argv", DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_documented_command_lines_parse(where, argv):
    _parse(argv)  # raises on an unknown option or a choice the command does not take


def test_onnx_is_named_a_runtime_and_still_works(capsys, monkeypatch):
    """``onnx`` names a runtime, not a network: predict --help, list_estimators and
    docs/models.md say so, and ``--model onnx`` is still a registered name."""
    from pathlib import Path

    from infantpose.models import list_estimators

    text = _squash(_help(["predict"], capsys, monkeypatch))
    assert _squash("onnx (a runtime, not a network") in text
    info = {i.name: i for i in list_estimators()}
    assert info["onnx"].needs_weights and "runtime, not a network" in info["onnx"].description
    docs = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text("utf-8")
    rows = [line for line in docs.splitlines() if line.startswith("| `infantpose.models.blaze")]
    for cls, what in (("blazepose.BlazePose`", "runtime estimator"),
                      ("blazepose_net.BlazePoseNet`", "ported full network"),
                      ("blazepose_landmarks.BlazePoseLandmarkNet`",
                       "fine-tunable landmark network")):
        row = [r for r in rows if r.startswith(f"| `infantpose.models.{cls}")]
        assert len(row) == 1 and what in row[0], (cls, what)
