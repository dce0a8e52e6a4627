"""The cyclic garbage collector paused around work that makes many short-lived objects.

Decoding a batch of the log, or validating and deciding a 10,000-commit request, makes tens of
thousands of containers that reference counting frees; each collection they trigger would scan
the process's whole heap. Overlapping pauses in threads are safe: only a pause that found the
collector on turns it back on (the others at worst see it collect a little earlier).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause() -> bool:
    """Turn the collector off; returns whether it was on (give that to ``resume``)."""
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def resume(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, and back on after unless it was off before."""
    enabled = pause()
    try:
        yield
    finally:
        resume(enabled)
