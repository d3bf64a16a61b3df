"""Property-based fuzzing of the readers (issue 23): COCO, LabelMe, DeepLabCut, poses JSON, YAML
training configs and image files. Each reader, given a damaged or altered version of a valid
file, returns valid data or raises the project's own error (one ``error:`` line, exit 2), never
another exception.

The default suite runs a bounded, reproducible set of examples per reader (a few seconds in
all); ``-m slow`` runs ``INFANTPOSE_FUZZ_EXAMPLES`` (default 1000) fresh random examples per
reader. Inputs that once crashed a reader are kept below as explicit regression cases.
``benchmarks/fuzz_counts.py`` prints how many cases each fuzzer ran and how they ended.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import strategies as st

from helpers_fuzz import (check_dataset, check_poses, damaged_bytes, json_inputs, mutated,
                          outcome, run_fuzzer, slow_examples)
from helpers_labels import make_dataset
from infantpose.errors import InputError

FAST = 60  # examples per reader in the default suite


# --- seeds: one valid file of each kind, its images beside it -------------------------------------
class Seeds:
    """Valid files of every format in one folder, and the fuzzers' scratch file names."""

    def __init__(self, root: Path):
        from infantpose.io.coco import write_coco
        from infantpose.io.labelme import write_labelme
        from infantpose.poses import Poses

        self.root = root
        ds = make_dataset(root, schema="coco17", n_images=2, w=40, h=30, drop=12)
        self.coco = json.loads(write_coco(ds, root / "coco.json").read_text())
        files = write_labelme(ds, root)
        self.labelme = json.loads(Path(files[0]).read_text())
        self.dlc = dlc_text()
        self.dlc_dir = root / "labeled-data" / "baby1"  # DeepLabCut's own layout
        self.dlc_dir.mkdir(parents=True)
        for name in ("img_00.png", "img_01.png"):
            (self.dlc_dir / name).write_bytes((root / name).read_bytes())
        data = np.full((3, 1, 17, 3), np.nan)
        data[..., 2] = 0.0
        data[:, 0, :4] = [[10.5, 20.25, 0.9], [11, 21, 0.8], [12, 22, 0.4], [13.5, 23, 1.0]]
        poses = Poses(data, "coco17", source="clip.mp4", fps=25.0, frame_indices=[0, 2, 5],
                      frame_size=(40, 30), meta={"model": "fake", "run": {"seed": 1}})
        self.poses = poses.to_dict()
        self.config = {"schema": "coco17", "data": [{"path": "coco.json"}],
                       "optim": {"lr": 0.001, "max_steps": 5, "batch_size": 2},
                       "model": {"arch": "blazepose"}, "augment": {"rotate": 30},
                       "out": "run"}
        self.jpeg = image_bytes(".jpg")
        self.png = image_bytes(".png")


def dlc_text() -> str:
    """A DeepLabCut CollectedData CSV naming two of the seed images (three index columns)."""
    parts = ("nose", "left_eye", "right_hip")
    head = ["scorer", "", ""] + ["ann"] * 6
    bp = ["bodyparts", "", ""] + [p for p in parts for _ in "xy"]
    co = ["coords", "", ""] + ["x", "y"] * 3
    rows = [["labeled-data", "baby1", "img_00.png", "10", "11", "12", "13", "", ""],
            ["labeled-data", "baby1", "img_01.png", "20", "21", "", "", "30.5", "31"]]
    return "\n".join(",".join(r) for r in [head, bp, co, *rows]) + "\n"


def image_bytes(ext: str) -> bytes:
    import cv2

    rng = np.random.default_rng(3)
    ok, enc = cv2.imencode(ext, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    assert ok
    return enc.tobytes()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    return Seeds(tmp_path_factory.mktemp("fuzz"))


# --- one case of each fuzzer: write the input, read it, judge the outcome ---------------------------
def read_labels_case(path: Path):
    def case(data: bytes) -> str:
        from infantpose.io.labels import read_labels

        path.write_bytes(data)
        return outcome(lambda: read_labels(path), check_dataset)
    return case


def poses_case(path: Path):
    def case(data: bytes) -> str:
        from infantpose.poses import Poses

        path.write_bytes(data)
        return outcome(lambda: Poses.load_json(path), check_poses)
    return case


def yaml_read_case(path: Path):
    """The YAML reading every config goes through (its values are judged by load_config)."""
    def case(data: bytes) -> str:
        from infantpose._yamlfile import read_yaml

        path.write_bytes(data)
        return outcome(lambda: read_yaml(path))
    return case


def config_case(path: Path):
    def case(data: bytes) -> str:
        from infantpose.train.config import load_config

        path.write_bytes(data)
        return outcome(lambda: load_config(path))
    return case


def image_case(path: Path):
    def case(data: bytes) -> str:
        from infantpose.io.images import read_image

        def check(rgb: np.ndarray) -> None:
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3

        path.write_bytes(data)
        return outcome(lambda: read_image(path), check)
    return case


def yaml_bytes(doc, flow: bool) -> bytes:
    return yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True).encode("utf-8",
                                                                                   "surrogatepass")


def yaml_inputs(seed) -> st.SearchStrategy[bytes]:
    """Changed configs (their values, their keys), damaged YAML text, or any text at all."""
    changed = st.builds(yaml_bytes, mutated(seed), st.booleans())
    return st.one_of(changed, changed, damaged_bytes(yaml_bytes(seed, False)),
                     st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass")))


def csv_inputs(text: str) -> st.SearchStrategy[bytes]:
    """The DeepLabCut CSV with cells changed, rows or columns dropped, or its bytes damaged."""
    cells = st.sampled_from(["", "x", "nan", "inf", "-inf", "1e999", "-5", "1e7", "9" * 400,
                             "0.5", "scorer", "bodyparts", "coords", "individuals",
                             "likelihood", "nose", "img_00.png", "../../etc/passwd",
                             "/abs.png", '"', '"a,b"', "é"]) | st.text(max_size=6)

    @st.composite
    def changed(draw) -> bytes:
        rows = [line.split(",") for line in text.splitlines()]
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["cell", "cell", "cell", "row", "column"]))
            r = draw(st.integers(0, len(rows) - 1))
            if op == "cell" and rows[r]:
                rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(cells)
            elif op == "row" and len(rows) > 1:
                del rows[r]
            elif op == "column":
                c = draw(st.integers(0, max(len(x) for x in rows) - 1))
                for row in rows:
                    if c < len(row):
                        del row[c]
        return ("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8", "surrogatepass")

    return st.one_of(changed(), changed(), damaged_bytes(text.encode()))


FUZZERS = {
    # name: (input strategy from the seeds, case from the seeds' folder)
    "coco": (lambda s: json_inputs(s.coco), lambda s: read_labels_case(s.root / "fuzz.json")),
    "labelme": (lambda s: json_inputs(s.labelme),
                lambda s: read_labels_case(s.root / "fuzz_labelme.json")),
    "dlc": (lambda s: csv_inputs(s.dlc),
            lambda s: read_labels_case(s.dlc_dir / "CollectedData_fuzz.csv")),
    "poses": (lambda s: json_inputs(s.poses), lambda s: poses_case(s.root / "fuzz_poses.json")),
    "yaml": (lambda s: yaml_inputs(s.config), lambda s: yaml_read_case(s.root / "fuzz.yaml")),
    "jpeg": (lambda s: damaged_bytes(s.jpeg), lambda s: image_case(s.root / "fuzz_image.jpg")),
    "png": (lambda s: damaged_bytes(s.png), lambda s: image_case(s.root / "fuzz_image.png")),
}


@pytest.mark.parametrize("name", list(FUZZERS))
def test_fuzz_reader(seeds, name):
    strategy, case = FUZZERS[name]
    run_fuzzer(strategy(seeds), case(seeds), FAST)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FUZZERS))
def test_fuzz_reader_long(seeds, name):
    strategy, case = FUZZERS[name]
    run_fuzzer(strategy(seeds), case(seeds), slow_examples(), slow=True)


def _config_validation_merged(folder: Path) -> bool:
    """Whether the semantic checks of config values (issue 23 part B) are in this tree: until
    then ``data: [123]`` crashes inside the config reader."""
    from infantpose.train.config import load_config

    probe = folder / "probe.yaml"
    probe.write_text("data: [123]\n")
    try:
        load_config(probe)
    except InputError:
        return True
    except Exception:  # noqa: BLE001 - the crash this probe looks for
        return False
    return True


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_config_values(seeds, slow):
    """The whole config path (reading and validating values) on changed configs."""
    if not _config_validation_merged(seeds.root):
        pytest.skip("config value validation (issue 23 part B, branch hostile23b) not merged")
    run_fuzzer(yaml_inputs(seeds.config), config_case(seeds.root / "fuzz_config.yaml"),
               slow_examples() if slow else FAST, slow=slow)


# --- crashers found by the fuzzers and by hand, kept as explicit cases ------------------------------
def _coco_with(seeds, **image0) -> bytes:
    doc = json.loads(json.dumps(seeds.coco))
    doc["images"][0].update(image0)
    return json.dumps(doc).encode()


JSON_CRASHERS = {
    "nested 200,000 deep": b"[" * 200_000 + b"]" * 200_000,
    "object nested 100 deep": b'{"a":' * 100 + b"1" + b"}" * 100,
    "5,000-digit number": b'{"format": "infantpose.poses", "fps": ' + b"7" * 5000 + b"}",
    "not UTF-8": b'{"images": "\xff\xfe"}',
}


@pytest.mark.parametrize("name", list(JSON_CRASHERS))
def test_json_crashers(seeds, name):
    data = JSON_CRASHERS[name]
    assert read_labels_case(seeds.root / "crash.json")(data) == "refused"
    assert poses_case(seeds.root / "crash_poses.json")(data) == "refused"


YAML_CRASHERS = {
    "nested 200,000 deep": b"[" * 200_000,
    "5,000-digit number": b"optim: {lr: " + b"1" * 5000 + b"}\n",
    "not UTF-8": b"schema: coco17\n# \xff\xfe\n",
    "alias containing itself": b"data: &a [*a]\n",
    "billion laughs": b"".join(
        [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n".encode() for i in range(1, 9)]),
}


@pytest.mark.parametrize("name", list(YAML_CRASHERS))
def test_yaml_crashers(seeds, name):
    assert yaml_read_case(seeds.root / "crash.yaml")(YAML_CRASHERS[name]) == "refused"


def test_image_content_not_name(seeds, tmp_path):
    """A PNG named .jpg and a JPEG with bytes after its end are read; cut-off files refused."""
    from infantpose.io.images import read_image

    png_as_jpg = tmp_path / "photo.jpg"
    png_as_jpg.write_bytes(seeds.png)
    trailer = tmp_path / "motion.jpg"
    trailer.write_bytes(seeds.jpeg + b"\0" * 5000 + b"MotionPhoto_Data" * 400)
    ref = read_image(seeds.root / "img_00.png")
    assert read_image(png_as_jpg).shape == (24, 32, 3) and ref.shape == (30, 40, 3)
    assert read_image(trailer).shape == (24, 32, 3)
    for data in (seeds.jpeg[:-200], seeds.png[:-30], seeds.png[:8]):
        cut = tmp_path / "cut.jpg"
        cut.write_bytes(data)
        with pytest.raises(InputError, match="truncated"):
            read_image(cut)


@pytest.mark.parametrize("name", ["nested 200,000 deep", "5,000-digit number"])
@pytest.mark.parametrize("command", ["filter", "convert", "evaluate --gt", "evaluate --pred"])
def test_json_crashers_cli(seeds, tmp_path, capsys, command, name):
    """The commands of the issue's class 5: one ``error:`` line naming the file, exit 2, and
    nothing written."""
    from infantpose.cli import main

    bad = tmp_path / "bad.json"
    bad.write_bytes(JSON_CRASHERS[name])
    out = tmp_path / "out"
    argv = {"filter": ["filter", str(bad), "--out", str(out / "f.json")],
            "convert": ["convert", str(bad), str(out), "--to", "labelme"],
            "evaluate --gt": ["evaluate", "--gt", str(bad), "--pred", str(bad), "--out",
                              str(out)],
            "evaluate --pred": ["evaluate", "--gt", str(seeds.root / "coco.json"), "--pred",
                                str(bad), "--out", str(out)]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "bad.json" in err, err
    assert "internal error" not in err and not out.exists()


DLC_CRASHERS = {
    "a row shorter than the index": (
        "scorer,,,ann,ann,ann,ann,ann,ann\nbodyparts,,,nose,nose,left_eye,left_eye,right_hip,"
        "right_hip\ncoords,,,-5,y,x,y,x,y\n,k\u00c6\"E\n\u00d4,img_01.png,20,21,,,30.5,31\n"),
    "a 400-digit coordinate": (
        "scorer,,,ann,ann,ann,ann,ann,ann\nbodyparts,,,nose,nose,left_eye,left_eye,right_hip,"
        "right_hip\ncoords,,,x,y,x,y,x,y\nlabeled-data,baby1,img_00.png," + "9" * 400
        + ",11,12,13,,\n"),
}


@pytest.mark.parametrize("name", list(DLC_CRASHERS))
def test_dlc_crashers(seeds, name):
    data = DLC_CRASHERS[name].encode()
    assert read_labels_case(seeds.dlc_dir / "CollectedData_crash.csv")(data) == "refused"


def test_pillow_reads_what_opencv_refuses(seeds, tmp_path, monkeypatch):
    """When OpenCV cannot decode a file, Pillow is asked; the pixels are the same."""
    import cv2

    from infantpose.io.images import read_image

    path = tmp_path / "a.png"
    path.write_bytes(seeds.png)
    expected = read_image(path)
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: None)
    assert np.array_equal(read_image(path), expected)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 4 + b"IEND" + b"\0" * 4)
    with pytest.raises(InputError, match="could not decode"):
        read_image(tmp_path / "b.png")


@pytest.mark.parametrize("kind", ["coco", "labelme", "dlc"])
@pytest.mark.parametrize("name", ["a" * 300 + ".png", "d/" + "b" * 256 + "/c.png", "a\x00.png",
                                  "\ud800.png"])
def test_image_names_no_file_system_takes(seeds, kind, name):
    """An image name too long for a file system (found by the DeepLabCut fuzzer: OSError
    "File name too long"), with a NUL byte or a lone surrogate: refused, not a crash."""
    import copy

    if kind == "dlc":
        if "\x00" in name or "\ud800" in name:
            pytest.skip("not representable in a UTF-8 CSV the way it is in JSON")
        data = seeds.dlc.replace("img_00.png", name).encode()
        path = seeds.dlc_dir / "CollectedData_long.csv"
    else:
        doc = copy.deepcopy(getattr(seeds, kind))
        if kind == "coco":
            doc["images"][0]["file_name"] = name
        else:
            doc["imagePath"] = name
        data = json.dumps(doc).encode()
        path = seeds.root / f"long_{kind}.json"
    assert read_labels_case(path)(data) == "refused"
