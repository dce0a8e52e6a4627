"""A multipart body decoded as it arrives: each block of the body is pushed in (``feed``) and
every file part's bytes reach a sink as they are decoded, in order, never first copied to a
temporary file (werkzeug's form parser spools every file part, which for a 32 MiB chunk upload
is one more full write and read of the body).

The parser is ``multipart``'s ``PushMultipartParser``: a part's bytes come out as the very
block that was pushed when no boundary is in it, so a chunk's bytes reach the hash and the
file they are written to without a copy; werkzeug's decoder copied each byte three to five
times, and those short-lived megabyte copies cost more in page faults than the hashing itself.

Only the file parts under ``fields`` reach the sink; other parts are skipped.
"""

from __future__ import annotations

from typing import Protocol

from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser
from werkzeug.exceptions import RequestEntityTooLarge

# What one read of a body asks for, where the body is read rather than pushed: the size of a
# block the blob store hashes and writes.
READ_SIZE = 1024 * 1024


class MalformedBody(ValueError):
    """The body is not the multipart message its headers announce."""


class PartSink(Protocol):
    """Where the file parts go: ``begin``, the part's bytes in ``write``s, ``end``; per part."""

    def begin(self, field: str, filename: str) -> None: ...

    def write(self, data: bytes) -> None: ...

    def end(self) -> None: ...


class FileParts:
    """One multipart body, pushed block by block. More than ``max_parts`` parts raises
    werkzeug's ``RequestEntityTooLarge``; a body that is not multipart, ``MalformedBody``."""

    def __init__(self, boundary: bytes, fields: tuple[str, ...], max_parts: int, sink: PartSink) -> None:
        try:
            self._parser = PushMultipartParser(boundary, max_segment_count=max_parts)
        except MultipartError as exc:
            raise MalformedBody(str(exc)) from None
        self._fields, self._sink = fields, sink
        self._in_file = False  # within a part that goes to the sink

    def feed(self, block: bytes) -> None:
        """Decode ``block``; ``b""`` is the end of the body, and checks that it was complete.
        What follows the closing boundary is ignored."""
        if self._parser.closed:
            return
        try:
            for event in self._parser.parse(block):
                if isinstance(event, MultipartSegment):
                    self._in_file = event.name in self._fields and event.filename is not None
                    if self._in_file:
                        self._sink.begin(event.name, event.filename or "")
                elif event is None:  # the part ended
                    if self._in_file:
                        self._sink.end()
                    self._in_file = False
                elif self._in_file:
                    self._sink.write(event)
        except ParserLimitReached as exc:
            raise RequestEntityTooLarge(str(exc)) from None
        except MultipartError as exc:
            raise MalformedBody(str(exc)) from None

    def close(self) -> None:
        self.feed(b"")
