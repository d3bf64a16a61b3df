"""Issue 11 (4): the local Dask cluster serves no dashboard (nothing on port 8787) unless asked."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from infantpose.errors import InputError
from infantpose.video import batch as B


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_no_dashboard_and_nothing_on_8787_by_default():
    was_open = _port_open(8787)  # another program may hold it; then only check our routes
    with B._dask_client(1, None, None) as client:
        port = client.scheduler_info()["services"].get("dashboard")
        if not was_open:
            assert not _port_open(8787)
        assert port != 8787
        if port:
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5)
            assert e.value.code == 404


def test_dashboard_address_is_checked():
    assert B.check_dashboard(None) is None
    assert B.check_dashboard(":8787") == ":8787"
    assert B.check_dashboard("127.0.0.1:8790") == "127.0.0.1:8790"
    for bad in ("8787", "http://x:1", ":0x", ":99999"):
        with pytest.raises(InputError, match="--dashboard"):
            B.check_dashboard(bad)
    for bad in ("notaurl", "tcp://", "tcp://host:port", "localhost:8786"):
        with pytest.raises(InputError, match="--scheduler"):
            B.check_scheduler(bad)
    assert B.check_scheduler("tcp://10.0.0.2:8786") == "tcp://10.0.0.2:8786"
