"""The cyclic collector paused around large requests (``api.app``) and nested pauses."""

from __future__ import annotations

import gc

from flask import Flask, abort

from api.app import LARGE_BODY, _pause_collector_for_large_bodies
from infra import collector


def test_a_large_body_is_handled_with_the_collector_paused() -> None:
    """Off while a request with a body of a megabyte or more is handled, on again after it (also
    after one that fails); small bodies leave it alone."""
    app = Flask("probe")
    _pause_collector_for_large_bodies(app)
    seen: list[bool] = []

    @app.put("/probe/<int:status>")
    def probe(status: int) -> str:
        seen.append(gc.isenabled())
        if status != 200:
            abort(status)
        return "ok"

    client = app.test_client()
    large, small = b"x" * LARGE_BODY, b"x" * 100
    assert gc.isenabled()
    assert client.put("/probe/200", data=large).status_code == 200
    assert gc.isenabled()
    assert client.put("/probe/400", data=large).status_code == 400
    assert gc.isenabled()
    assert client.put("/probe/200", data=small).status_code == 200
    assert seen == [False, False, True] and gc.isenabled()


def test_only_the_pause_that_found_it_on_turns_it_on() -> None:
    with collector.paused():
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
