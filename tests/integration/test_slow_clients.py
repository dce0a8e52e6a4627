"""Slow and idle clients cannot starve ``eventry serve``: 200 connections trickle their headers
or bodies while /healthz and a write are answered, and the server drops them after its read
deadlines (the slow bodies with a 408)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.slow_clients import Target, Trickler
from infra.config import Settings
from tests.cli import run
from tests.integration.test_serve import ROOT, free_port, wait_healthy

SLOW = 200


@contextmanager
def served(env: dict[str, str], cwd: Path, workers: int, log: Path | None = None) -> Iterator[Target]:
    """``eventry serve --workers N`` with an organization ``slow``, its project ``api`` and a
    token; its log lines go to ``log`` when given."""
    run(env, "migrate")
    run(env, "orgs", "create", "slow")
    run(env, "projects", "create", "--org", "slow", "api")
    token = run(env, "tokens", "create", "--org", "slow", "--scopes", "project:write").split()[-1]
    env = {**env, "PYTHONPATH": str(ROOT)}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )
    try:
        wait_healthy(port, server)
        yield Target(port, token)
    finally:
        server.terminate()
        server.wait(15)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRY_", "PROMETHEUS_"))}
    return {**env, "DATABASE_URL": "", "REDIS_URL": "", **extra}


def test_trickling_clients_do_not_starve_the_api_on_postgres(pg_settings: Settings, tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=pg_settings.database_url or "", REDIS_URL=pg_settings.redis_url or "")
    with served(env, tmp_path, workers=2) as api, Trickler(api.port, SLOW) as slow:
        assert api.healthz() == 200
        assert api.write(1) == 200
        # answered while every slow connection was still being held open
        assert slow.open == SLOW
        # and the server lets go of them by itself: slow headers are cut, slow bodies get a 408
        assert slow.wait_dropped(timeout=90), f"{slow.open} slow connections still open"
        bodies = [i for i, kind in enumerate(slow.kind) if kind == "body"]
        assert all(slow.answers[i].startswith(b"HTTP/1.1 408") for i in bodies)
        assert api.healthz() == 200


def test_trickling_clients_do_not_starve_the_embedded_default(redis_url: str, tmp_path: Path) -> None:
    env = clean_env(EVENTRY_DATA_DIR=str(tmp_path / "var"), REDIS_URL=redis_url)
    with served(env, tmp_path, workers=1) as api, Trickler(api.port, SLOW) as slow:
        assert api.healthz() == 200
        assert api.write(1) == 200
        assert slow.open == SLOW


def raw_status(port: int, request: bytes) -> int:
    """The status line of the answer to ``request``, sent as is."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1])


def test_bodies_the_server_will_not_wait_for(redis_url: str, tmp_path: Path) -> None:
    """A body longer than any route takes is not read (the route refuses it by its length);
    a chunked one that grows past it is a 413; neither is a 5xx. Each has its log line."""
    env = clean_env(EVENTRY_DATA_DIR=str(tmp_path / "var"), REDIS_URL=redis_url)
    log = tmp_path / "serve.log"
    with served(env, tmp_path, workers=1, log=log) as api:
        head = (
            "PUT /api/0/projects/slow/api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
        ).encode()
        assert 400 <= raw_status(api.port, head + b"Content-Length: 1000000000\r\n\r\n{") < 500
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        with socket.create_connection(("127.0.0.1", api.port), timeout=30) as sock:
            sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(40):
                    sock.sendall(chunk)
            except OSError:
                pass  # the server answered and closed before the last chunk
            assert sock.recv(4096).startswith(b"HTTP/1.1 413")
        chunked_ok = b'{"isBookmarked": false}'
        ok = head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunked_ok), chunked_ok)
        assert raw_status(api.port, ok) == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    path = "/api/0/projects/slow/api/"
    statuses = [e["status"] for e in lines if e["msg"] == "request" and e["path"] == path]
    assert sorted(statuses) == [200, 400, 413], statuses


def test_a_chunk_upload_is_hashed_and_staged_as_it_arrives(redis_url: str, tmp_path: Path) -> None:
    """The event loop hands a chunk upload's body, as it arrives, to a thread that hashes and
    stages its parts, of known length or chunked: every byte counts (a wrong one is a checksum
    mismatch); a body whose client leaves part way leaves nothing staged."""
    env = clean_env(EVENTRY_DATA_DIR=str(tmp_path / "var"), REDIS_URL=redis_url)
    staging = tmp_path / "var" / "blobs" / "tmp"
    with served(env, tmp_path, workers=1) as api:
        data = os.urandom(3 << 20)
        boundary = "b0undary"
        headers = {
            "Authorization": f"Bearer {api.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        for name, expected in ((hashlib.sha1(data).hexdigest(), 200), ("0" * 40, 400)):
            disposition = f'form-data; name="file"; filename="{name}"'
            head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            body = head + data + f"\r\n--{boundary}--\r\n".encode()
            for chunked in (False, True):
                conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
                sent = iter([body[: 1 << 20], body[1 << 20 :]]) if chunked else body
                conn.request(
                    "POST", "/api/0/organizations/slow/chunk-upload/", sent, headers, encode_chunked=chunked
                )
                answer = conn.getresponse()
                assert (answer.status, chunked) == (expected, chunked), answer.read()
                conn.close()
        assert list(staging.iterdir()) == []
        request = (
            "POST /api/0/organizations/slow/chunk-upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", api.port), timeout=30) as sock:
            sock.sendall(request + body[: len(body) // 2])
            deadline = time.monotonic() + 30
            while not list(staging.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.01)  # until the first part is being staged
            assert list(staging.iterdir())
        deadline = time.monotonic() + 30
        while list(staging.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(staging.iterdir()) == []
        assert api.healthz() == 200
