"""The real sentry-cli (PyPI) against a live ``eventry serve``: debug files and source maps,
with several concurrent gzip chunk requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.config import Settings
from tests.integration.test_serve import ROOT, free_port, wait_healthy

pytestmark = pytest.mark.slow
SENTRY_CLI = shutil.which("sentry-cli", path=str(Path(sys.executable).parent)) or "sentry-cli"


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path

    def chunk_posts(self) -> int:
        """Chunk upload requests the server logged (one JSON line per request)."""
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return sum(
            1
            for r in lines
            if r.get("method") == "POST" and str(r.get("path", "")).endswith("/chunk-upload/")
        )


def _eventry(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _serve(env: dict[str, str], cwd: Path) -> Iterator[Server]:
    """An organization, a project and a token made with the CLI, then the server."""
    _eventry(env, cwd, "orgs", "create", "acme")
    _eventry(env, cwd, "projects", "create", "--org", "acme", "native")
    token = _eventry(env, cwd, "tokens", "create", "--org", "acme", "--scopes", "project:releases").split()[
        -1
    ]
    port = free_port()
    log = cwd / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=cwd,
        env={**env, "EVENTRY_LOG_LEVEL": "INFO"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        wait_healthy(port, server)
        cli_env = {
            **env,
            "SENTRY_URL": f"http://127.0.0.1:{port}",
            "SENTRY_AUTH_TOKEN": token,
            "SENTRY_ORG": "acme",
            "SENTRY_PROJECT": "native",
        }
        yield Server(f"http://127.0.0.1:{port}", cli_env, log)
    finally:
        server.terminate()
        server.wait(15)


@pytest.fixture(params=["embedded", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The embedded default (jobs in a thread of serve), and production mode on PostgreSQL and
    Redis (jobs and projections in ``eventry worker``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EVENTRY_", "SENTRY_", "DATABASE_", "REDIS_"))
    }
    env.update(PYTHONPATH=str(ROOT), EVENTRY_LOG_LEVEL="WARNING", EVENTRY_DATA_DIR=str(tmp_path / "var"))
    if request.param == "embedded":
        yield from _serve(env, tmp_path)
        return
    pg: Settings = request.getfixturevalue("pg_settings")
    env.update(DATABASE_URL=pg.database_url or "", REDIS_URL=pg.redis_url or "")
    _eventry(env, tmp_path, "migrate")
    worker = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
    )
    try:
        yield from _serve(env, tmp_path)
    finally:
        worker.terminate()
        worker.wait(15)


def sentry_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SENTRY_CLI, *args], env=server.env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def debug_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two programs built with ``gcc -g``, one of them carrying 40 MiB of random bytes so it
    takes five 8 MiB chunks in two requests, sent concurrently and gzipped."""
    out = tmp_path_factory.mktemp("difs")
    for name, text in (("hello", "hello"), ("world", "world")):
        src = out / f"{name}.c"
        src.write_text(f'#include <stdio.h>\nint main(void) {{ puts("{text}"); return 0; }}\n')
        subprocess.run(["gcc", "-g", "-o", str(out / name), str(src)], check=True)
        src.unlink()
    blob = out / "blob.bin"
    blob.write_bytes(os.urandom(40 * 1024 * 1024))
    subprocess.run(
        ["objcopy", "--add-section", f".big={blob}", str(out / "world"), str(out / "world")], check=True
    )
    blob.unlink()
    return out


def test_debug_files_upload(server: Server, debug_files: Path) -> None:
    checked = sentry_cli(server, "debug-files", "check", str(debug_files / "world"))
    debug_id = checked.stdout.split("Debug ID: ")[1].split()[0]
    done = sentry_cli(server, "debug-files", "upload", "--wait", str(debug_files))
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout + done.stderr
    assert f"OK {debug_id} (world; x86_64 library)" in out, out
    assert "(hello; x86_64 library)" in out, out
    assert server.chunk_posts() >= 2  # five 8 MiB chunks: more than one 32 MiB request, sent at once
    again = sentry_cli(server, "debug-files", "upload", str(debug_files))  # everything is there now
    assert again.returncode == 0 and "Nothing to upload" in again.stdout + again.stderr


def test_sourcemaps_upload(server: Server, tmp_path: Path) -> None:
    dist = tmp_path / "jsdist"
    dist.mkdir()
    (dist / "app.min.js").write_text(
        "function hi(){console.log('hi')}\n//# sourceMappingURL=app.min.js.map\n"
    )
    source_map = {"version": 3, "file": "app.min.js", "sources": ["app.js"], "names": [], "mappings": "AAAA"}
    (dist / "app.min.js.map").write_text(json.dumps(source_map))
    done = sentry_cli(server, "sourcemaps", "upload", str(dist), "--release", "1.0.0", "--wait")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "File processing complete" in done.stdout + done.stderr
