"""The log's format: one JSON object a line, whatever the fields hold."""

from __future__ import annotations

import io
import json
import logging

from infra.telemetry import JsonFormatter, log


def lines_of(**fields: object) -> list[dict[str, object]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("eventry.test.lines")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    log(logger, logging.INFO, "request", **fields)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_holds_level_logger_msg_ts_and_the_fields() -> None:
    [line] = lines_of(method="PUT", status=200, ms=1.5, request_id="r1")
    assert {k: line[k] for k in ("level", "logger", "msg", "method", "status", "ms", "request_id")} == {
        "level": "info",
        "logger": "eventry.test.lines",
        "msg": "request",
        "method": "PUT",
        "status": 200,
        "ms": 1.5,
        "request_id": "r1",
    }
    assert isinstance(line["ts"], str)


def test_fields_the_fast_encoder_refuses_still_make_one_line() -> None:
    [line] = lines_of(text="a\udcffb", big=2**70, when=object)
    assert line["text"] == "a\udcffb"
    assert line["big"] == 2**70
    assert line["msg"] == "request"
