"""Serve a label project with uvicorn on one host and port (127.0.0.1 unless told otherwise)."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from infantpose.errors import InputError

__all__ = ["check_port", "make_server", "serve"]


def check_port(host: str, port: int) -> None:
    """InputError naming ``host:port`` when the server could not listen there."""
    if not 0 < port < 65536:
        raise InputError(None, f"--port must be between 1 and 65535, not {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise InputError(None, f"--host {host!r}: cannot resolve ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            what = ("port already in use (another server is running there; choose another with "
                    "--port)" if e.errno == errno.EADDRINUSE else
                    f"cannot listen there ({e.strerror or e})")
            raise InputError(f"{host}:{port}", what) from None


def make_server(project_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765):
    """A ``uvicorn.Server`` for the project (call ``.run()``, or run it in a thread)."""
    # imported here: uvicorn and the FastAPI app (pydantic) load only when a server is made
    import uvicorn

    from infantpose.label.app import create_app

    check_port(host, port)
    app = create_app(Path(project_dir), host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off")
    return uvicorn.Server(config)


def serve(project_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted (Ctrl+C)."""
    make_server(project_dir, host, port).run()


@contextlib.contextmanager
def serve_in_thread(project_dir: str | os.PathLike, timeout: float = 10.0) -> Iterator[str]:
    """Serve a project on a free loopback port in a background thread (tests, benchmarks,
    screenshots); yields the page's URL and stops the server on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server(project_dir, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("label server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout)
