"""JSON text for the columns views store and parse back: orjson's, at several times the speed
of ``json``'s (a rebuild encodes a value or two per event). What orjson refuses and ``json``
writes (an integer past 64 bits, a lone surrogate, a key that is not a string) is written by
``json``, so a fold never fails on a value the log holds. The text may differ from ``json``'s
(no spaces, non-ASCII characters unescaped): readers parse it, none compares it."""

from __future__ import annotations

import json
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    try:
        return orjson.dumps(value, option=_SORTED if sort_keys else None).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"))
