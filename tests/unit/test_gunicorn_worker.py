"""The worker class of ``eventry serve`` parses HTTP with gunicorn's C parser."""

from __future__ import annotations

from gunicorn.config import Config
from gunicorn_h1c import H1CProtocol

from api.gunicorn_worker import DeadlineProtocol, use_c_parser


def test_connections_are_parsed_by_gunicorns_c_parser() -> None:
    use_c_parser()  # as the worker does before it serves
    protocol = object.__new__(DeadlineProtocol)
    protocol.cfg = Config()
    protocol._setup_callback_parser()
    assert isinstance(protocol._callback_parser, H1CProtocol)
