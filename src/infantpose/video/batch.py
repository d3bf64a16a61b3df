"""Batch processing of a folder of videos, crash-safe and resumable, on Dask.

``infantpose batch VIDEO_DIR --out DIR`` processes every video once. Each video gets its own
output folder; every file in it is written atomically, and a ``done.json`` marker is written
*last*, so a folder with a marker is complete and a folder without one is redone from scratch on
the next run (a killed run loses at most the videos in flight). The marker records the options,
so a rerun with other options (say ``--deidentify`` added) redoes the video. Each video goes
through :func:`infantpose.video.pipeline.run_video`, the path ``predict`` takes too: the same
keypoints and the same files (``poses.json``, ``keypoints.csv``, ``overlay.mp4``,
``deidentified.mp4``, ...). A manifest CSV, rewritten atomically after every video, records
status, frames, fps, dropped frames, error and time per video (``seconds`` is wall time,
``cpu_seconds`` the worker process's CPU time, useful for planning a cluster); one bad video is
recorded as failed and never stops the batch.

Videos are independent tasks submitted to Dask: a :class:`distributed.LocalCluster` of worker
*processes* (one thread each: the models are single-image CPU work) by default, or an existing
cluster with ``scheduler="tcp://HOST:PORT"`` — the same command scales from a laptop to a lab
cluster. ``workers=0`` runs in this process (debugging, tests). The local cluster serves no
dashboard unless ``dashboard`` names an address (e.g. ``":8787"``).

Files follow :mod:`infantpose.outputs`: ``--out`` may not be the video folder; in a video's
output folder only files that infantpose wrote there (its ledger) are ever replaced or deleted —
a user's own files (notes, a symbolic link to elsewhere) are left alone, and an output name that
would replace a file infantpose did not write fails that video unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from infantpose import _atomic
from infantpose._names import display_name
from infantpose import outputs as _outputs
from infantpose.errors import InputError
from infantpose.video.pipeline import VideoOptions, planned_files

__all__ = ["BatchOptions", "MANIFEST_COLUMNS", "DONE_MARKER", "find_videos", "output_dir_names",
           "is_done", "process_video", "run_batch", "read_manifest"]

DONE_MARKER = "done.json"
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ["video", "status", "frames", "fps", "dropped_frames", "seconds",
                    "cpu_seconds", "frames_per_second", "error", "output"]


@dataclass
class BatchOptions(VideoOptions):
    """What to do with every video: the model, and the per-video :class:`VideoOptions` (what
    ``predict`` does with a video, so both commands give the same keypoints and files). All
    plain values, so it travels to Dask workers.

    Attributes:
        model: a registered estimator name, or ``"package.module:factory"``.
        schema: output keypoint schema (None: the model's own).
        weights: a checkpoint for the model (None: its own weights).
        model_options: keyword options for the estimator factory.
        plot: write ``trajectories.png`` (on by default in a batch).
    """

    model: str = "blazepose"
    schema: str | None = None
    weights: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    plot: bool = True

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def find_videos(video_dir: str | os.PathLike) -> list[Path]:
    """Video files directly in ``video_dir``, sorted; InputError when there are none."""
    from infantpose.io.video import VIDEO_EXTENSIONS, is_video_path

    d = Path(video_dir)
    if not d.exists():
        raise InputError(d, "no such directory")
    if not d.is_dir():
        raise InputError(d, "not a directory")
    vids = sorted(p for p in d.iterdir() if p.is_file() and is_video_path(p)
                  and not p.name.startswith("."))
    if not vids:
        raise InputError(d, f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in directory")
    return vids


def output_dir_names(videos: list[Path]) -> dict[Path, str]:
    """One output folder name per video: its stem, or its full name when stems collide."""
    stems: dict[str, int] = {}
    for v in videos:
        stems[v.stem] = stems.get(v.stem, 0) + 1
    return {v: (v.stem if stems[v.stem] == 1 else v.name.replace(".", "_")) for v in videos}


def is_done(out_dir: str | os.PathLike, options: BatchOptions | None = None
            ) -> dict[str, Any] | None:
    """The done-marker's record when ``out_dir`` holds a complete result, else None.

    The marker and every output it lists must be infantpose's own, unchanged files (see
    :mod:`infantpose.outputs`), and with ``options`` the marker must record the same options.
    """
    d = Path(out_dir)
    if d.is_symlink():
        return None
    marker = d / DONE_MARKER
    if not _outputs.is_owned(marker):
        return None
    try:
        rec = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("status") != "ok":
        return None
    if options is not None and rec.get("options") != json.loads(options.key()):
        return None
    listed = rec.get("outputs", [])
    if not isinstance(listed, list):
        return None
    for name in listed:
        if not isinstance(name, str) or not _outputs.is_owned(d / name):
            return None
    return rec


def _clean_partial(out_dir: Path) -> None:
    """Remove what an earlier run of infantpose left in ``out_dir`` (its ledger's files and
    temporary files); nothing else, and never through a symbolic link."""
    _outputs.remove_owned(out_dir)


def planned_outputs(options: BatchOptions) -> list[str]:
    """The file names :func:`process_video` may write for ``options`` (marker included)."""
    return planned_files(options) + [DONE_MARKER, "error.txt"]


def _prepare_dir(out: Path, options: BatchOptions, overwrite: bool) -> None:
    """Make ``out`` ready for a video's outputs, or raise InputError (the video fails)."""
    if out.is_symlink():
        raise InputError(out, "output folder is a symbolic link; infantpose does not write or "
                              "delete through links (remove it or choose another --out)")
    _clean_partial(out)
    guard = _outputs.Outputs("batch", overwrite=overwrite)
    guard.folder(out)
    for name in planned_outputs(options):
        guard.file(out / name, create_parent=False)


_ESTIMATORS: dict[str, Any] = {}


def _estimator(options: BatchOptions):
    """One estimator per worker process and model configuration (loading costs seconds)."""
    key = json.dumps([options.model, options.schema, options.weights, options.model_options],
                     sort_keys=True)
    est = _ESTIMATORS.get(key)
    if est is None:
        from infantpose.models import create_estimator

        est = create_estimator(options.model, schema=options.schema, weights=options.weights,
                               **options.model_options)
        _ESTIMATORS[key] = est
    return est


def process_video(video: str, out_dir: str, options: BatchOptions, overwrite: bool = False
                  ) -> dict[str, Any]:
    """Process one video into ``out_dir``; never raises: failures come back as a failed row.

    Outputs (each atomic; see :func:`infantpose.video.pipeline.run_video`, the one video path
    that ``predict`` takes too): ``poses.json`` (raw tracked keypoints), ``poses_filtered.json``
    (with a filter), ``keypoints.csv`` and the other ``formats`` (the final keypoints),
    ``trajectories.png``, ``deidentified.mp4`` and ``overlay.mp4`` when asked, then
    ``done.json`` last. Each file is recorded in the folder's ledger as soon as it is written,
    so an interrupted run's files are known to be infantpose's and are cleaned up by the next
    run.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    vid, out = Path(video), Path(out_dir)
    row: dict[str, Any] = {"video": vid.name, "status": "failed", "frames": 0, "fps": "",
                           "dropped_frames": "", "seconds": 0.0, "cpu_seconds": "",
                           "frames_per_second": "",
                           "error": "", "output": out.name}
    prepared = False
    created = not out.exists() and not out.is_symlink()
    rec_ctx = _outputs.recording("batch")
    rec_ctx.__enter__()
    try:
        _prepare_dir(out, options, overwrite)
        prepared = True
        from infantpose.video.pipeline import run_video

        est = _estimator(options)
        meta = {"model": options.model, **({"weights": options.weights} if options.weights else {})}
        res = run_video(est, vid, out, options, meta=meta)
        poses = res.poses
        idx = poses.frame_index_array()
        gaps = int(idx[-1] + 1 - len(idx)) if len(idx) else 0
        dropped = max(int(poses.meta.get("corrupt_frames", 0)), gaps)
        seconds = time.perf_counter() - t0
        row.update(status="ok", frames=poses.n_frames, fps=round(poses.fps or 0.0, 3),
                   dropped_frames=dropped, seconds=round(seconds, 3),
                   cpu_seconds=round(time.process_time() - c0, 3),
                   frames_per_second=round(poses.n_frames / seconds, 2) if seconds > 0 else "")
        record = {**row, "outputs": res.written, "tracking": poses.meta.get("tracking"),
                  "options": json.loads(options.key()), **res.info}
        _atomic.write_text(out / DONE_MARKER, json.dumps(record, indent=1, default=str))
    except Exception as e:  # one bad video never stops the batch
        row["error"] = (str(e) if str(e) else type(e).__name__).splitlines()[0][:500]
        row["seconds"] = round(time.perf_counter() - t0, 3)
        if prepared:
            with contextlib.suppress(Exception):
                _clean_partial(out)  # no half-finished outputs are left behind
        if not isinstance(e, InputError) and prepared:
            row["error"] = f"{type(e).__name__}: {row['error']}"
            with contextlib.suppress(Exception):
                _atomic.write_text(out / "error.txt", traceback.format_exc())
        elif not isinstance(e, InputError):
            row["error"] = f"{type(e).__name__}: {row['error']}"
        if created:
            _remove_if_empty(out)  # a failed video leaves no empty folder
    finally:
        rec_ctx.__exit__(None, None, None)
    return row


def _write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: display_name(v) if isinstance(v, str) else v for k, v in r.items()})
    with _outputs.recording("batch"):
        _atomic.write_text(path, buf.getvalue())


def read_manifest(path: str | os.PathLike) -> list[dict[str, str]]:
    """The manifest rows as dicts of strings."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such manifest")
    with p.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/:]+(:\d{1,5})?/?$")


def check_scheduler(address: str) -> str:
    """``address`` if it looks like a Dask scheduler address (``tcp://HOST:PORT``), else
    InputError (so a typo fails at once, not after a 20-second connection timeout)."""
    if not isinstance(address, str) or not _SCHEDULER.match(address.strip()):
        raise InputError(None, f"--scheduler must be a Dask scheduler address such as "
                               f"tcp://HOST:8786, got {address!r}")
    return address.strip()


def check_dashboard(address: str | None) -> str | None:
    """None (no dashboard) or a ``[HOST]:PORT`` address for the local cluster's dashboard."""
    if address is None:
        return None
    if not re.match(r"^[\w.\-]*:\d{1,5}$", address) or not 0 < int(address.rsplit(":", 1)[1]) \
            < 65536:
        raise InputError(None, f"--dashboard must be [HOST]:PORT such as :8787 or "
                               f"127.0.0.1:8787, got {address!r}")
    return address


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, dashboard: str | None = None):
    import tempfile

    import dask
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise InputError(None, f"cannot reach Dask scheduler {scheduler} ({e})") from None
        try:
            yield client
        finally:
            client.close()
        return
    # Workers' scratch and lock files go to a private temporary folder removed at the end,
    # never to Dask's shared default in the system temp folder.
    scratch = tempfile.TemporaryDirectory(prefix="infantpose-dask-")
    with scratch, dask.config.set({"temporary-directory": scratch.name}):
        with _local_cluster(workers, dashboard, scratch.name) as cluster:
            client = Client(cluster)
            try:
                yield client
            finally:
                _close_quietly(client)


@contextlib.contextmanager
def _local_cluster(workers: int, dashboard: str | None, scratch: str):
    """A LocalCluster of ``workers`` processes whose files go to ``scratch``; closed after."""
    import logging

    import dask
    from distributed import LocalCluster

    if dashboard:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=dashboard, silence_logs=logging.CRITICAL,
                               local_directory=scratch)
    else:
        # distributed's scheduler always starts an HTTP server, by default on port 8787, even
        # without a dashboard. With no dashboard asked for it gets no routes and a random port on
        # the loopback interface: nothing is served, port 8787 stays free.
        import dask

        with dask.config.set({"distributed.scheduler.http.routes": [],
                              "distributed.worker.http.routes": []}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address="127.0.0.1:0",
                                   scheduler_kwargs={"dashboard": False},
                                   silence_logs=logging.CRITICAL, local_directory=scratch)
    try:
        yield cluster
    finally:
        _close_quietly(cluster)


def _close_quietly(closable) -> None:
    """``closable.close()`` with distributed's loggers silenced: workers' last heartbeats race
    the shutdown and log harmless "stream closed" errors."""
    import logging

    quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL)
    try:
        closable.close()
    finally:
        for q, lv in zip(quiet, levels):
            q.setLevel(lv)


def check_batch_paths(video_dir: str | os.PathLike, out_dir: str | os.PathLike,
                      overwrite: bool = False) -> list[Path]:
    """The videos of ``video_dir``, after checking that ``out_dir`` may receive the outputs
    (not the video folder, not under a file, a manifest that is infantpose's); creates nothing."""
    videos = find_videos(video_dir)
    guard = _outputs.Outputs("batch", inputs=[video_dir, *videos], overwrite=overwrite)
    guard.folder(out_dir, create=False)
    guard.file(Path(out_dir) / MANIFEST, create_parent=False)
    return videos


def run_batch(video_dir: str | os.PathLike, out_dir: str | os.PathLike,
              options: BatchOptions | None = None, workers: int = 2, scheduler: str | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None,
              overwrite: bool = False, dashboard: str | None = None) -> list[dict[str, Any]]:
    """Process every video of ``video_dir`` into ``out_dir``; return the manifest rows.

    Videos whose output folder holds a valid done-marker are skipped (status ``skipped``, their
    numbers taken from the marker); all others are (re)done. ``on_result`` is called with each
    row as it completes (progress display). The manifest is ``out_dir/manifest.csv``.
    ``overwrite`` lets outputs replace files infantpose did not write (never the videos);
    ``dashboard`` ("[HOST]:PORT") serves the local cluster's Dask dashboard (default: none).
    """
    opts = options or BatchOptions()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise InputError(None, "--workers must be >= 0")
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    dashboard = check_dashboard(dashboard)
    videos = check_batch_paths(video_dir, out_dir, overwrite)
    parallel = bool(scheduler) or workers > 0
    # The cluster first: an unreachable --scheduler fails before anything is written.
    with (_dask_client(workers, scheduler, dashboard) if parallel
          else contextlib.nullcontext()) as client:
        out = _outputs.Outputs("batch", inputs=[video_dir, *videos]).folder(out_dir)
        with _outputs.lock_folder(out, "batch"):
            return _run_videos(videos, out, opts, client, on_result, overwrite)


def _run_videos(videos: list[Path], out: Path, opts: BatchOptions, client: Any,
                on_result: Callable[[dict[str, Any]], None] | None, overwrite: bool
                ) -> list[dict[str, Any]]:
    """The batch itself, in ``out`` (checked, created and locked); ``client`` None: in this
    process, one video after another."""
    names = output_dir_names(videos)
    rows: dict[Path, dict[str, Any]] = {}
    pending: list[Path] = []
    for v in videos:
        rec = is_done(out / names[v], opts)
        if rec is not None:
            rows[v] = {**{c: rec.get(c, "") for c in MANIFEST_COLUMNS}, "status": "skipped",
                       "video": v.name}
        else:
            rows[v] = {"video": v.name, "status": "pending", "output": names[v]}
            pending.append(v)
    manifest = out / MANIFEST

    def done(v: Path, row: dict[str, Any]) -> None:
        rows[v] = row
        _write_manifest(manifest, [rows[x] for x in videos])
        if on_result is not None:
            on_result(row)

    _write_manifest(manifest, [rows[x] for x in videos])
    for v in videos:
        if rows[v]["status"] == "skipped" and on_result is not None:
            on_result(rows[v])
    if pending:
        if client is None:
            for v in pending:
                done(v, process_video(str(v), str(out / names[v]), opts, overwrite))
        else:
            from distributed import as_completed

            futures = {
                client.submit(process_video, str(v), str(out / names[v]), opts, overwrite,
                              pure=False,
                              key=f"infantpose-{display_name(names[v])}-{time.time_ns()}"): v
                for v in pending}
            for fut in as_completed(futures):
                v = futures[fut]
                try:
                    row = fut.result()
                except Exception as e:  # a worker died (e.g. out of memory)
                    row = {"video": v.name, "status": "failed", "output": names[v],
                           "error": f"worker failed: {type(e).__name__}: {e}"[:500]}
                    _remove_if_empty(out / names[v])
                done(v, row)
    return [rows[v] for v in videos]


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` when it is an empty real folder (a failed video leaves none behind)."""
    with contextlib.suppress(OSError):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
