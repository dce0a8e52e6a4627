"""The README's serve command and curl walk-through, run as written against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.config import Settings
from infra.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- walkthrough:start -->")[1].split("<!-- walkthrough:end -->")[0]
    return block.split("```bash", 1)[1].rsplit("```", 1)[0]


def wait_healthy(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                assert r.status == 200
                return
        except OSError:
            assert server.poll() is None, "eventry serve exited"
            assert time.monotonic() < deadline, "eventry serve did not come up"
            time.sleep(0.2)


def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    assert shutil.which("curl"), "the walk-through needs curl"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT)
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(port, server)
        script = walkthrough().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert '"isBlocked":true' in out
        assert '"blockedTags":["release","user"]' in out
        options = re.findall(r'\{"sentry:blocked_metrics":.*\}', out)
        assert "d:custom/latency@millisecond" in options[0]
        assert "d:custom/latency@millisecond" not in options[1]  # as it was after the first write
        assert '"event":"metric.block"' in out and "metric.tags.block" in out.split("\n", 3)[-1]
        assert (tmp_path / "var" / "eventry.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(15)


def readyz(port: int) -> tuple[int, list[str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status, json.loads(r.read())["reasons"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["reasons"]


def test_serve_with_workers_on_postgres(pg_settings: Settings, tmp_path: Path) -> None:
    """Production mode: migrate once, then gunicorn workers with tables they never create."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRY_", "PROMETHEUS_"))}
    env.update(DATABASE_URL=pg_settings.database_url or "", REDIS_URL=pg_settings.redis_url or "")
    env["PYTHONPATH"] = str(ROOT)
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "orgs", "create", "prod-org"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "projects", "create", "--org", "prod-org", "api"], env=env, check=True, capture_output=True
    )
    token = (
        subprocess.run(
            [*cli, "tokens", "create", "--org", "prod-org", "--scopes", "project:write"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [*cli, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    worker = subprocess.Popen([*cli, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, server)
        for i in range(6):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/0/projects/prod-org/api/metrics/visibility/",
                data=json.dumps(
                    {"operationType": "blockMetric", "metricMri": f"c:custom/m{i}@none"}
                ).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="PUT",
            )
            with urllib.request.urlopen(request, timeout=10) as r:
                assert json.loads(r.read())["isBlocked"] is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        # counters from both workers are summed in one scrape
        assert 'eventry_commands_total{command="BlockMetric",outcome="ok"} 6.0' in metrics
        assert wait_until(lambda: readyz(port) == (200, []), 10), readyz(port)
        # gunicorn's own lines are JSON like the app's
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["msg"] for e in entries)
        # one line per request, the app's (with its request id); gunicorn's access line is off
        puts = [e for e in entries if e.get("path", "").endswith("/metrics/visibility/")]
        assert len(puts) == 6 and all(e["msg"] == "request" and e["request_id"] for e in puts), puts
        assert not [e for e in entries if e["logger"] == "gunicorn.access"]
    finally:
        for proc in (server, worker):
            proc.terminate()
            proc.wait(15)
