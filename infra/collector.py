"""The cyclic garbage collector paused around work that makes many short-lived objects.

Decoding a batch of the log, or validating and deciding a 10,000-commit request, makes tens of
thousands of containers that reference counting frees; each collection they trigger would scan
the process's whole heap. The switch is the process's, so pauses count, across threads too (a
rebuild's reader and folding threads, a large request beside a batch): the collector is back on
when the last overlapping pause ends (also after an error), and only if it was on before the
first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pauses = 0  # pauses going on now, in every thread
_lock = threading.Lock()
_enabled_before = False  # whether the collector was on when the first of them began


def pause() -> None:
    """Turn the collector off until the matching ``resume``."""
    global _pauses, _enabled_before
    with _lock:
        if _pauses == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _pauses += 1


def resume() -> None:
    global _pauses
    with _lock:
        _pauses -= 1
        if _pauses == 0 and _enabled_before:
            gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (see the module doc)."""
    pause()
    try:
        yield
    finally:
        resume()
