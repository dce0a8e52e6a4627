"""Private PostgreSQL and Redis servers for the fault benchmarks, which stop and restart them.

The machine's shared servers (PostgreSQL on 5432, Redis on 6379) serve other test runs and
are never stopped: a fault benchmark starts its own cluster (initdb into a temporary directory,
its own port, ``pg_ctl``; run as the ``postgres`` user when we are root) or its own
``redis-server`` without persistence.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path:
    """The newest installed server's binaries (``EVENTRY_BENCH_PG_BIN`` overrides)."""
    if os.environ.get("EVENTRY_BENCH_PG_BIN"):
        return Path(os.environ["EVENTRY_BENCH_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1])


class PrivatePostgres:
    """A throwaway cluster: ``url`` to connect, ``restart()`` to take it down and up again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="eventry-bench-pg-"))
        self.data = self.base / "data"
        self.bin = postgres_bin()
        # The server refuses to run as root; the directory must belong to whoever runs it.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            owner = pwd.getpwnam(self.user)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            cwd=self.base,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\nmax_connections = 200\n"
            )

    def ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w", *args)

    def restart(self, mode: str = "fast", down_seconds: float = 0.0) -> None:
        """``fast``: connections are ended and open transactions rolled back; ``immediate``:
        the server is killed and recovers from its write-ahead log on start."""
        self.ctl("-m", mode, "stop")
        time.sleep(down_seconds)
        self.ctl("start")

    def close(self) -> None:
        try:
            self.ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def private_postgres(port: int | None = None) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(port or free_port())
    try:
        server.init()
        server.ctl("start")
        yield server
    finally:
        server.close()


class PrivateRedis:
    """A ``redis-server`` without persistence: a restart comes back empty."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            ["redis-server", *args, "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def flush(self) -> None:
        self.client().flushall()


@contextmanager
def private_redis(port: int | None = None) -> Iterator[PrivateRedis]:
    server = PrivateRedis(port or free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
