"""The embedded default's Redis daemons that test runs start (infra/redis.py), and their cleanup.

A daemon outlives the ``eventry`` process that started it by design; the suite stops those of
its own data directories when it ends, and, when it starts, those an interrupted earlier run
left behind whose data directory pytest has since deleted (nothing can reach them any more).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from infra.redis import stop_embedded


def stop_under(base: Path) -> None:
    """Stop the server of every data directory under ``base``."""
    for pid_file in base.rglob("redis.pid"):
        stop_embedded(pid_file.parent)


def stop_orphans(base: Path) -> None:
    """Stop servers listening on a socket under pytest's root of temporary directories (the
    ``pytest-of-<user>`` above ``base``) whose directory is gone."""
    roots = [p for p in base.parents if p.name.startswith("pytest-of-")]
    if not roots:
        return  # an explicit --basetemp: nothing else is known to be ours
    for pid, sock in _servers():
        if sock.is_relative_to(roots[0]) and not sock.parent.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _servers() -> list[tuple[int, Path]]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        # redis-server's process title: "<binary> unixsocket:<path>"
        if proc.name.isdigit() and "redis-server unixsocket:" in cmdline:
            title = cmdline.split("unixsocket:", 1)[1].replace("\0", " ")  # padded with NULs
            found.append((int(proc.name), Path(title.split()[0])))
    return found
