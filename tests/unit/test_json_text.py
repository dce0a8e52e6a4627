"""The JSON text views store: orjson's where it can, ``json``'s for what orjson refuses, and
always text that parses back to the value (a fold must never fail on a value in the log)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from projections.json_text import dumps


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1.5, "é", None, True]},
        2**70,  # past 64 bits: orjson refuses it
        {1: "a key that is not a string"},
        "\ud800 a lone surrogate",
        [{"nested": {"x": 2**64}}],
    ],
)
def test_what_is_written_parses_back(value: Any) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


def test_sorted_keys_when_asked() -> None:
    assert dumps({"b": 1, "a": {"d": 1, "c": 2}}, sort_keys=True) == '{"a":{"c":2,"d":1},"b":1}'
    assert dumps({"b": 2**70, "a": 1}, sort_keys=True) == '{"a":1,"b":' + str(2**70) + "}"
