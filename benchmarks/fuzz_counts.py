"""How the fuzzers' cases end: read, refused with one error line, or crashed (issue 23).

Runs every reader fuzzer of ``tests/test_fuzz_readers.py`` and the label API fuzzer of
``tests/test_fuzz_label_api.py`` for N generated cases each (random, a new set every run), and
prints one table: cases, read (valid data returned), refused (the project's own error), crashes
by exception type, with one crashing input each. A clean run has no crash rows.

    python benchmarks/fuzz_counts.py [N]          # default 500 cases per reader

Needs the dev extra (hypothesis, schemathesis); writes only into a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
warnings.simplefilter("ignore")


def main(n: int = 500) -> int:
    from helpers_fuzz import tally
    from test_fuzz_readers import FUZZERS, Seeds, config_case, yaml_inputs

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Seeds(Path(tmp))
        fuzzers = dict(FUZZERS)
        fuzzers["config (read + validate)"] = (lambda s: yaml_inputs(s.config),
                                               lambda s: config_case(s.root / "cfg.yaml"))
        for name, (strategy, case) in fuzzers.items():
            t = tally(strategy(seeds), case(seeds), n)
            rows.append((name, t.cases, t.read, t.refused, t.crashes, t.examples))
        rows.append(label_api_row(Path(tmp), n))
    print(f"{'fuzzer':<26}{'cases':>7}{'read':>7}{'refused':>9}{'crashes':>9}")
    for name, cases, read, refused, crashes, _ in rows:
        print(f"{name:<26}{cases:>7}{read:>7}{refused:>9}{sum(crashes.values()):>9}")
    total = sum(r[1] for r in rows)
    bad = sum(sum(r[4].values()) for r in rows)
    print(f"{'all':<26}{total:>7}{'':>7}{'':>9}{bad:>9}")
    for name, *_, crashes, examples in rows:
        for key, count in crashes.most_common():
            print(f"\n{name}: {count} x {key}\n  e.g. {examples[key]!r:.300}")
    return 1 if bad else 0


def label_api_row(tmp: Path, n: int):
    """The label API fuzzer: cases answered 2xx/3xx ("read"), 4xx ("refused"), 5xx (crashes)."""
    from test_fuzz_label_api import fuzz_api
    from test_label_api import make_project

    from infantpose.label.app import create_app

    store = make_project(tmp / "api")
    crashes: Counter = Counter()
    examples: dict = {}
    try:
        codes = fuzz_api(store, create_app(store.dir), max(1, n // 20), derandomize=False)
    except AssertionError as e:  # a 5xx answer stops the run
        crashes["5xx answer"] += 1
        examples["5xx answer"] = str(e)[:300]
        codes = Counter()
    ok = sum(v for (_, c), v in codes.items() if c < 400)
    refused = sum(v for (_, c), v in codes.items() if 400 <= c < 500)
    return ("label API (schemathesis)", ok + refused + sum(crashes.values()), ok, refused,
            crashes, examples)


if __name__ == "__main__":
    from infantpose.cli._stderr_filter import filtered_stderr

    with filtered_stderr():  # libpng/libjpeg chatter about the damaged images
        code = main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    sys.exit(code)
