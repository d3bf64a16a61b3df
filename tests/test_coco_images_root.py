"""COCO readers find the images beside the JSON, in an images/ folder beside it, or under
``--images DIR`` (issue 12, item 3)."""

import json
import shutil

import pytest

import helpers_labels as H
from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.io.coco import coco_image_root, read_coco, write_coco
from infantpose.io.labels import read_labels


def _layout(tmp_path, where: str):
    """labels.json in tmp/dataset with bare file names; the images moved to ``where``."""
    ds = H.make_dataset(tmp_path / "dataset", "coco17", n_images=3, drop=0)
    gt = write_coco(ds, tmp_path / "dataset" / "labels.json")
    d = json.loads(gt.read_text())
    for img in d["images"]:  # as many tools write: no width/height, the header gives them
        img.pop("width"), img.pop("height")
    gt.write_text(json.dumps(d))
    target = tmp_path / where
    if target != tmp_path / "dataset":
        target.mkdir(parents=True, exist_ok=True)
        for name in ds.image_names:
            shutil.move(tmp_path / "dataset" / name, target / name)
    return ds, gt, target


def test_images_folder_beside_the_json_is_found(tmp_path):
    ds, gt, folder = _layout(tmp_path, "dataset/images")
    got = read_coco(gt)
    assert got.root == folder and all(p.is_file() for p in got.image_paths)
    assert got.poses.sizes() == [(64, 48)] * 3
    assert H.same_labels(got, ds)
    assert read_labels(gt).root == folder
    assert read_labels(gt.parent).root == folder  # a folder holding one COCO file


def test_images_beside_the_json_come_first(tmp_path):
    _, gt, folder = _layout(tmp_path, "dataset")
    (folder / "images").mkdir()
    H.write_image(folder / "images" / "img_00.png")  # a partial copy does not win
    assert read_coco(gt).root == folder


def test_images_option_names_any_folder(tmp_path):
    ds, gt, folder = _layout(tmp_path, "elsewhere/pics")
    with pytest.raises(InputError, match=r"image not found: img_00.png .*--images DIR"):
        read_coco(gt)
    got = read_coco(gt, images_root=folder)
    assert got.root == folder and H.same_labels(got, ds)
    with pytest.raises(InputError, match="must be a folder"):
        coco_image_root(gt, ds.image_names, tmp_path / "nope")
    (folder / "img_01.png").unlink()
    with pytest.raises(InputError, match=r"img_01.png \(under --images"):
        read_coco(gt, images_root=folder)


def test_evaluate_and_convert_take_images(tmp_path, capsys):
    ds, gt, folder = _layout(tmp_path, "elsewhere/pics")
    results = [{"image_id": i + 1, "file_name": n, "category_id": 1, "score": 1.0,
                "keypoints": ds.poses.data[i, 0].ravel().tolist(), "schema": "coco17"}
               for i, n in enumerate(ds.image_names)]
    (tmp_path / "pred.json").write_text(json.dumps(results))
    # predictions need no images, a model does: without --images it cannot find them
    code = main(["evaluate", "--gt", str(gt), "--model", "blazepose", "--out",
                 str(tmp_path / "r0")])
    err = capsys.readouterr().err
    assert code == 2 and "image not found" in err and "--images DIR" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r0").exists()
    code = main(["evaluate", "--gt", str(gt), "--pred", str(tmp_path / "pred.json"),
                 "--images", str(folder), "--out", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"][0]
    assert m["metrics"]["AP"] == pytest.approx(1.0)
    # convert: the written COCO file names the images relative to itself, so it reads back
    out = tmp_path / "converted" / "c.json"
    out.parent.mkdir()
    assert main(["convert", str(gt), str(out), "--to", "coco", "--images", str(folder)]) == 0
    names = [img["file_name"] for img in json.loads(out.read_text())["images"]]
    assert names[0] == "../elsewhere/pics/img_00.png"
    back = read_coco(out)
    assert all(p.is_file() for p in back.image_paths)
    assert back.poses.allclose(ds.poses, atol=1e-3)
    code = main(["convert", str(gt), str(tmp_path / "c2.json"), "--to", "coco"])
    assert code == 2 and "--images DIR" in capsys.readouterr().err


def test_train_data_images(tmp_path, capsys):
    """``train --data labels.json --images DIR`` reaches the reader through the data source."""
    from infantpose.schemas import get_schema
    from infantpose.train.config import config_from_dict
    from infantpose.train.data import load_sources

    ds, gt, folder = _layout(tmp_path, "elsewhere/pics")
    cfg = config_from_dict({"data": [{"path": str(gt), "images": str(folder)}],
                            "out": str(tmp_path / "run")}, None, "quick")
    sets, _ = load_sources(cfg, get_schema("coco17"))
    assert sets[0].root == folder
    code = main(["train", "--images", str(folder), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "give --data" in err
