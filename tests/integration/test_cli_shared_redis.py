"""The embedded default's processes share one Redis (issue 10, finding 9).

With ``REDIS_URL`` unset each ``eventry`` process used to get its own in-process Redis, so
two commands in the same second drew the same snowflake id and the second one's event stopped
the views. These run real ``eventry`` processes at once on a fresh data directory, as a user
in two terminals would, and check that they start one server, draw distinct ids, and that
every view follows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from infra.redis import embedded, socket_path, stop_embedded
from tests.integration.test_serve import free_port, wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "api.cli"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data directory; its Redis server (a daemon) is stopped afterwards."""
    path = tmp_path / "var"
    yield path
    stop_embedded(path)


@pytest.fixture
def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTRY_")}
    env.pop("REDIS_URL", None)
    env.update(EVENTRY_DATA_DIR=str(data_dir), DATABASE_URL="", PYTHONPATH=str(ROOT))
    return env


def at_once(env: dict[str, str], *commands: list[str]) -> list[str]:
    """Start every command before waiting for any; each must succeed. Their outputs."""
    procs = [
        subprocess.Popen([*CLI, *c], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in commands
    ]
    outputs = []
    for proc, command in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{command}: {err.decode()[-2000:]}"
        outputs.append(out.decode())
    return outputs


def cli(env: dict[str, str], *args: str) -> str:
    return at_once(env, list(args))[0]


def redis_servers(data_dir: Path) -> list[int]:
    """Pids of the redis-server processes listening on this data directory's socket."""
    sock = str(socket_path(data_dir))
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if "redis-server" in cmdline and sock in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def test_commands_at_once_share_one_redis_and_draw_distinct_ids(
    embedded_env: dict[str, str], data_dir: Path
) -> None:
    cli(embedded_env, "migrate")  # tables first, as the README says, then everything at once
    orgs = [json.loads(o) for o in at_once(embedded_env, *(["orgs", "create", f"org-{n}"] for n in range(4)))]
    assert len({o["id"] for o in orgs}) == 4
    assert len(redis_servers(data_dir)) == 1

    projects = at_once(
        embedded_env, *(["projects", "create", "--org", "org-0", f"app {n}"] for n in range(4))
    )
    issues = at_once(
        embedded_env,
        *(["issues", "create", "--org", "org-0", "--project", "app-0", f"bug {n}"] for n in range(3)),
    )
    ids = [json.loads(p)["id"] for p in projects] + [json.loads(i)["id"] for i in issues]
    assert len(set(map(str, ids))) == len(ids) == 7

    # every view caught up: the lists show everything, and the log holds no repeated id
    listed = json.loads(cli(embedded_env, "projects", "list", "--org", "org-0", "--json"))
    assert sorted(p["slug"] for p in listed) == [f"app-{n}" for n in range(4)]
    assert len(json.loads(cli(embedded_env, "orgs", "list", "--json"))) == 4
    json.loads(cli(embedded_env, "repos", "list", "--org", "org-0", "--json"))
    status = cli(embedded_env, "projections", "status")
    assert "error" not in status.lower() and "parked" not in status.lower()
    assert len(redis_servers(data_dir)) == 1


def test_the_server_outlives_the_command_that_started_it_and_keeps_its_state(
    embedded_env: dict[str, str], data_dir: Path
) -> None:
    cli(embedded_env, "orgs", "create", "acme")
    [pid] = redis_servers(data_dir)
    assert (data_dir / "redis.pid").read_text().strip() == str(pid)
    client = redis_lib.Redis(unix_socket_path=str(socket_path(data_dir)))
    counters = client.keys("snowflake:*")
    assert counters  # the id the command drew is counted in the shared server
    assert oct(socket_path(data_dir).stat().st_mode & 0o777) == "0o700"

    stop_embedded(data_dir)  # a restart: the append-only file brings the counters back
    assert redis_servers(data_dir) == []
    cli(embedded_env, "orgs", "list")
    client = redis_lib.Redis(unix_socket_path=str(socket_path(data_dir)))
    assert set(counters) <= set(client.keys("snowflake:*"))
    client.close()


def post(port: int, path: str, token: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_serve_and_commands_share_one_redis(
    embedded_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    cli(embedded_env, "orgs", "create", "acme")
    token = (
        cli(embedded_env, "tokens", "create", "--org", "acme", "--scopes", "project:write")
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=embedded_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(port, server)
        served: list[Any] = []
        failed: list[str] = []

        def create(n: int) -> None:
            try:
                served.append(post(port, "/api/0/organizations/acme/projects/", token, {"name": f"http {n}"}))
            except OSError as exc:
                failed.append(repr(exc))

        threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        made = at_once(embedded_env, *(["projects", "create", "--org", "acme", f"cli {n}"] for n in range(3)))
        for t in threads:
            t.join(60)
        ids = [p["id"] for p in served] + [json.loads(p)["id"] for p in made]
        assert not failed and len(served) == 6 and len(set(map(str, ids))) == 9
        assert len(redis_servers(data_dir)) == 1
    finally:
        server.terminate()
        server.wait(15)
    # the server's exit does not take Redis (and what the commands put there) with it
    assert len(redis_servers(data_dir)) == 1


def test_a_data_directory_too_deep_for_a_socket_path_still_gets_its_own_server(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100) / "var"
    try:
        first, second = embedded(deep), embedded(deep)
        first.set("shared", "yes")
        assert second.get("shared") == b"yes"
        sock = socket_path(deep)
        assert len(str(sock)) <= 100 and sock.stat().st_mode & 0o077 == 0
        assert oct(sock.parent.stat().st_mode & 0o777) == "0o700" and sock.parent.stat().st_uid == os.getuid()
        assert socket_path(tmp_path / ("e" * 100) / "var") != sock  # one per data directory
        assert len(redis_servers(deep)) == 1
    finally:
        stop_embedded(deep)
    assert redis_servers(deep) == []
