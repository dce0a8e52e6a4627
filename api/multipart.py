"""A multipart body read as a stream: each file part's bytes reach the caller as they are
decoded, in order, never first copied to a temporary file (werkzeug's form parser spools every
file part, which for a 32 MiB chunk upload is one more full write and read of the body).

Parts must be consumed in order; a part the caller leaves unread is skipped when it asks for
the next one. Only the file parts under ``fields`` are handed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, File, MultipartDecoder

READ_SIZE = 1024 * 1024


class MalformedBody(ValueError):
    """The body is not the multipart message its headers announce."""


class PartStream:
    """One part's bytes as a readable file (what ``gzip`` and the blob staging read)."""

    def __init__(self, events: Iterator[object]) -> None:
        self._events = events
        self._buffer = b""
        self.done = False

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self._buffer) < size):
            event = next(self._events, None)
            if not isinstance(event, Data):
                raise MalformedBody("a part ended without its data")
            self._buffer = event.data if not self._buffer else self._buffer + event.data
            self.done = not event.more_data
        if size < 0 or size >= len(self._buffer):
            block, self._buffer = self._buffer, b""
        else:
            block, self._buffer = self._buffer[:size], self._buffer[size:]
        return block


def _events(stream: IO[bytes], decoder: MultipartDecoder) -> Iterator[object]:
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise MalformedBody(str(exc)) from None
        if event is NEED_DATA:
            decoder.receive_data(stream.read(READ_SIZE) or None)
            continue
        yield event
        if isinstance(event, Epilogue):
            return


def file_parts(
    stream: IO[bytes], boundary: bytes, fields: tuple[str, ...], max_parts: int
) -> Iterator[tuple[str, str, PartStream]]:
    """(field name, filename, bytes) of each file part under ``fields``, as the body arrives.
    More than ``max_parts`` parts raises werkzeug's ``RequestEntityTooLarge``."""
    events = _events(stream, MultipartDecoder(boundary, max_parts=max_parts))
    part: PartStream | None = None
    for event in events:
        if isinstance(event, Data):  # of a part nobody reads: a field, another file, one left unread
            if part is not None and not part.done:
                part.done = not event.more_data
            continue
        if isinstance(event, File) and event.name in fields:
            part = PartStream(events)
            yield event.name, event.filename, part
