"""A multipart body read as a stream: each file part's bytes reach the caller as they are
decoded, in order, never first copied to a temporary file (werkzeug's form parser spools every
file part, which for a 32 MiB chunk upload is one more full write and read of the body).

The parser is ``multipart``'s ``PushMultipartParser``: a part's bytes come out as the very
block that was read when no boundary is in it, so a chunk is copied once (out of the body)
before it is hashed and written; werkzeug's decoder copied each byte three to five times, and
those short-lived megabyte copies cost more in page faults than the hashing itself.

Parts must be consumed in order; a part the caller leaves unread is skipped when it asks for
the next one. Only the file parts under ``fields`` are handed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser
from werkzeug.exceptions import RequestEntityTooLarge

# What one read of the body asks for: the size of a block the blob store hashes and writes, so
# that a block read whole is handed on whole.
READ_SIZE = 1024 * 1024

# An event is a part's headers (MultipartSegment), some of its bytes, or None (its end).
Event = object


class MalformedBody(ValueError):
    """The body is not the multipart message its headers announce."""


class PartStream:
    """One part's bytes as a readable file (what ``gzip`` and the blob staging read)."""

    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self._rest = b""
        self.done = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); ``b""`` at the part's end.
        A read may return fewer bytes than asked for, as a raw file's does."""
        if size < 0:
            return b"".join(iter(lambda: self.read(READ_SIZE), b""))
        if not self._rest and not self.done:
            self._rest = self._next_bytes()
        if size >= len(self._rest):
            block, self._rest = self._rest, b""
        else:
            block, self._rest = self._rest[:size], self._rest[size:]
        return block

    def skip(self) -> None:
        """Read past the rest of the part, keeping nothing."""
        self._rest = b""
        while not self.done:
            self._next_bytes()

    def _next_bytes(self) -> bytes:
        event = next(self._events, False)
        if event is None:  # the part ended
            self.done = True
            return b""
        if not isinstance(event, bytes):
            raise MalformedBody("a part ended without its data")
        return event


def _events(stream: IO[bytes], parser: PushMultipartParser) -> Iterator[Event]:
    """Every event of the body, reading it as they are asked for; the end of the input checks
    that the message was complete."""
    try:
        while not parser.closed:
            yield from parser.parse(stream.read(READ_SIZE))  # b"": the end, checked
    except ParserLimitReached as exc:
        raise RequestEntityTooLarge(str(exc)) from None
    except MultipartError as exc:
        raise MalformedBody(str(exc)) from None


def file_parts(
    stream: IO[bytes], boundary: bytes, fields: tuple[str, ...], max_parts: int
) -> Iterator[tuple[str, str, PartStream]]:
    """(field name, filename, bytes) of each file part under ``fields``, as the body arrives.
    More than ``max_parts`` parts raises werkzeug's ``RequestEntityTooLarge``."""
    try:
        parser = PushMultipartParser(boundary, max_segment_count=max_parts)
    except MultipartError as exc:
        raise MalformedBody(str(exc)) from None
    events = _events(stream, parser)
    for event in events:
        if not isinstance(event, MultipartSegment):
            continue  # the end of a part handed out already
        part = PartStream(events)
        if event.name in fields and event.filename is not None:
            yield event.name, event.filename, part
        part.skip()  # a field, another file, or what the caller left unread
