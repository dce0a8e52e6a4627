"""The suite needs nothing running: with no PostgreSQL or Redis on the default addresses and none
configured it starts private ones (tests/private_servers.py); a configured one that does not
answer stops the run with one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import redis

from tests import private_servers

ROOT = Path(__file__).resolve().parents[2]


def test_private_servers_start_answer_and_stop() -> None:
    cleanups: list[Callable[[], None]] = []
    try:
        pg = private_servers._start_postgres(cleanups.append)
        cache = private_servers._start_redis(cleanups.append)
        with psycopg.connect(pg, connect_timeout=5) as conn:
            [(user,)] = conn.execute("SELECT current_user").fetchall()
            assert user == "postgres"
        assert redis.Redis.from_url(cache).ping()
    finally:
        for cleanup in reversed(cleanups):
            cleanup()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg, connect_timeout=2)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(cache, socket_connect_timeout=1).ping()


def run_pytest(
    env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    own = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRY_TEST_", "PYTEST_", "COV"))}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *args],
        cwd=ROOT,
        env={**own, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("var", "says"),
    [
        ("EVENTRY_TEST_POSTGRES", "PostgreSQL at postgresql://postgres@127.0.0.1:1/postgres"),
        ("EVENTRY_TEST_REDIS", "Redis at redis://127.0.0.1:1"),
    ],
)
def test_a_configured_server_that_does_not_answer_is_one_line(var: str, says: str) -> None:
    url = "postgresql://postgres@127.0.0.1:1/postgres" if "POSTGRES" in var else "redis://127.0.0.1:1"
    done = run_pytest({var: url}, "tests/unit/test_environment.py")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Exit: {says} ({var}) does not answer"), lines


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="a network namespace needs root"
)
def test_the_suite_starts_its_own_servers_where_nothing_listens() -> None:
    """In a network namespace of its own (only loopback, nothing listening), a test on both
    stores passes against the servers the run starts itself."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.fail("unshare -n does not work here, though we are root")
    done = run_pytest(
        {},
        "tests/integration/test_readiness.py::test_ready_while_the_worker_keeps_the_views_current",
        prefix=("unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
