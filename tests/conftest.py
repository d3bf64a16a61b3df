"""Shared test settings: keep torch and BLAS to few threads so the suite behaves on 2 cores;
put this folder on PYTHONPATH so subprocesses and Dask workers can import ``testclips``; keep
infantpose's state folder (records of named output files) out of the user's home."""

import os
import tempfile
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_HERE, os.environ.get("PYTHONPATH")]))

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# single named output files are recorded in infantpose's state folder: a private one per test run
os.environ.setdefault("INFANTPOSE_STATE_DIR", tempfile.mkdtemp(prefix="infantpose-state-"))
