"""Fuzzing the label server's HTTP API (issue 23): schemathesis generates requests from the app's
own OpenAPI description, valid ones and invalid ones, for every route; none may get a 5xx
answer, and the project database must stay intact. Then the hostile requests found by hand,
kept as explicit cases: ids beyond 64 bits, ``1e999``, huge bodies, and images outside the
project (an edited database naming ``/etc/passwd``, links out of the project folder).

The default suite runs a bounded, reproducible set of requests per route and mode; ``-m slow``
runs ``INFANTPOSE_FUZZ_EXAMPLES`` (default 1000) fresh ones.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from helpers_fuzz import slow_examples
from infantpose.label.app import MAX_BODY, create_app
from infantpose.label.store import Store
from test_label_api import make_project

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")
FAST = 25  # requests per route and mode in the default suite


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A project with 4 frames and its app."""
    store = make_project(tmp_path_factory.mktemp("api"))
    return store, create_app(store.dir)


def fuzz_api(store: Store, app, max_examples: int, derandomize: bool = True) -> Counter:
    """Every operation in both generation modes; returns (operation, status) counts. Half the
    requests name a real frame and keypoint, so that they get past the 404s."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    ids = store.frame_ids()
    codes: Counter = Counter()
    opts = settings(max_examples=max_examples, deadline=None, database=None,
                    derandomize=derandomize, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet)  # no seed note for the parameterless routes
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            @opts
            @given(case=op.as_strategy(generation_mode=mode), data=st.data())
            def run(case, data) -> None:
                params = case.path_parameters or {}
                if "fid" in params and data.draw(st.booleans()):
                    params["fid"] = data.draw(st.sampled_from(ids))
                    if "k" in params and data.draw(st.booleans()):
                        params["k"] = data.draw(st.integers(0, 21))
                response = case.call()
                codes[(op.label, response.status_code)] += 1
                assert response.status_code < 500, (
                    f"{case.as_curl_command()} -> {response.status_code}: {response.text[:300]}")
                if op.label.endswith("/image") and response.status_code == 200:
                    kind = {k.lower(): v for k, v in response.headers.items()}["content-type"]
                    assert (kind[0] if isinstance(kind, list) else kind).startswith("image/")

            try:
                run()
            except Unsatisfiable:  # a route without parameters has no invalid requests
                pass
    return codes


def test_fuzz_label_api(served):
    store, app = served
    codes = fuzz_api(store, app, FAST)
    assert sum(codes.values()) > 300
    assert any(c == 200 for (_, c) in codes)  # the fuzzer got past the 404s and 422s
    reopened = Store.open(store.dir)  # the database is intact
    assert len(reopened.frame_ids()) == 4


@pytest.mark.slow
def test_fuzz_label_api_long(served):
    store, app = served
    fuzz_api(store, app, slow_examples(), derandomize=False)
    assert len(Store.open(store.dir).frame_ids()) == 4


# --- hostile requests found by hand -----------------------------------------------------------------
@pytest.fixture()
def client(tmp_path):
    from fastapi.testclient import TestClient

    store = make_project(tmp_path)
    return TestClient(create_app(store.dir), raise_server_exceptions=False), store


@pytest.mark.parametrize("method, url, body", [
    ("GET", f"/api/frames/{10**23}", None),
    ("GET", f"/api/frames/{2**63}", None),
    ("GET", f"/api/frames/{-(2**63) - 1}/rev", None),
    ("GET", f"/api/frames/{2**63}/image", None),
    ("POST", f"/api/frames/{2**64}/undo", None),
    ("PUT", "/api/cursor", b'{"frame_id": 1180591620717411303424}'),
    ("PUT", "/api/cursor", b'{"frame_id": 1e999}'),
    ("POST", "/api/frames/FID/time", b'{"seconds": 1e999}'),
    ("POST", "/api/frames/FID/time", b'{"seconds": -1e999}'),
    ("POST", "/api/frames/FID/time", b'{"seconds": NaN}'),
    ("POST", "/api/frames/FID/accept", b'{"seconds": 1e999}'),
    ("PUT", "/api/frames/FID/points/1", b'{"v": 1e999}'),
    ("PUT", "/api/frames/FID/points/1", b'{"x": 1e999, "y": 1}'),
    ("PUT", "/api/frames/FID/points/1", b'{"x": 1, "y": 1, "base_version": 1e30}'),
    ("PUT", "/api/frames/FID/points/1", b'{"x": 1, "y": 1, "base_version": 36893488147419103232}'),
    ("PUT", f"/api/frames/FID/points/{2**70}", b'{"v": 1}'),
    ("PUT", "/api/cursor", b"[" * 100_000),
])
def test_out_of_range_numbers_are_4xx(client, method, url, body):
    c, store = client
    url = url.replace("FID", str(store.frame_ids()[0]))
    r = c.request(method, url, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])


def test_request_body_limit(client):
    c, store = client
    fid = store.frame_ids()[0]
    url = f"/api/frames/{fid}/points/1"
    padded = b'{"v": 1' + b" " * (MAX_BODY + 10) + b"}"
    r = c.put(url, content=padded, headers={"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit is counted as the body arrives
        yield b'{"v": 1'
        for _ in range(40):
            yield b" " * 65536
        yield b"}"

    r = c.put(url, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert c.put(url, json={"v": 1}).status_code == 200  # a normal request still works


def _set(store: Store, fid: int, **cols) -> None:
    con = sqlite3.connect(store.path)
    for col, value in cols.items():
        con.execute(f"UPDATE frames SET {col} = ? WHERE id = ?", (value, fid))
    con.commit()
    con.close()


def test_images_outside_the_project_are_not_served(client, tmp_path):
    c, store = client
    fid = store.frame_ids()[0]
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    photo_like = tmp_path / "secret.jpg"  # named as an image, but it is not one
    photo_like.write_text("private")
    (store.dir / "display" / "link.jpg").symlink_to(tmp_path / "src" / "img_00.png")
    (store.dir / "display" / "passwd.jpg").symlink_to(secret)
    hostile = {
        "display": ["../../../../../../../../etc/passwd", "/etc/passwd", str(secret),
                    "../src/img_00.png", str(tmp_path / "src" / "img_00.png"), "display/link.jpg",
                    "display/passwd.jpg", "label.sqlite", "display", "", "a\x00b.jpg"],
        "image": ["../../../../../../../../etc/passwd", "/etc/passwd", str(secret),
                  str(photo_like), "../src/img_00.png", "display/passwd.jpg", "label.sqlite"],
    }
    for col, values in hostile.items():
        for value in values:
            _set(store, fid, **{col: value})
            url = f"/api/frames/{fid}/image" + ("?raw=1" if col == "image" else "")
            r = c.get(url)
            assert r.status_code == 404, (col, value, r.status_code)
            assert b"private" not in r.content and b"root:" not in r.content
    # what infantpose itself writes is served: a photo outside the project by its absolute
    # path (raw), a displayed image inside it
    _set(store, fid, image=str(tmp_path / "src" / "img_00.png"), display="display/000001.jpg")
    assert c.get(f"/api/frames/{fid}/image?raw=1").status_code == 200
    assert c.get(f"/api/frames/{fid}/image").status_code == 200


def test_re_made_display_never_deletes_files_outside_display(client, tmp_path):
    """Accepting a corrected frame deletes its old displayed image: only the project's own."""
    from infantpose.label.build import refresh_display

    _, store = client
    fid = store.frame_ids()[0]
    keep = tmp_path / "keep.jpg"
    keep.write_bytes(b"\xff\xd8\xff user file")
    for stored in (str(keep), "../keep.jpg", "label.sqlite", "frames"):
        _set(store, fid, display=stored)
        assert refresh_display(store, fid, None)
        assert keep.exists() and (store.dir / "label.sqlite").exists()
    _set(store, fid, image="/etc/passwd")
    assert not refresh_display(store, fid, None)  # not an image: the display is kept


def test_damaged_database_is_one_error_and_never_rewritten(tmp_path, capsys):
    from infantpose.cli import main

    store = make_project(tmp_path)
    cases = {"empty": b"", "garbage": b"not a database" * 100}
    for name, data in cases.items():
        d = tmp_path / name
        d.mkdir()
        (d / "label.sqlite").write_bytes(data)
        assert main(["label", "export", str(d), "--out", str(tmp_path / f"{name}.json")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "label.sqlite" in err and "\n" not in err
        assert (d / "label.sqlite").read_bytes() == data and os.listdir(d) == ["label.sqlite"]
        assert not (tmp_path / f"{name}.json").exists()
    con = sqlite3.connect(store.path)
    con.execute("DROP TABLE points")
    con.commit()
    con.close()
    before = Path(store.path).read_bytes()
    assert main(["label", "export", str(store.dir), "--out", str(tmp_path / "d.json")]) == 2
    assert "no table 'points'" in capsys.readouterr().err
    assert Path(store.path).read_bytes() == before
