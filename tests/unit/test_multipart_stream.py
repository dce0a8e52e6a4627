"""The streamed multipart reader the chunk-upload route uses instead of werkzeug's form parser."""

from __future__ import annotations

import io
import os

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from api.multipart import READ_SIZE, MalformedBody, file_parts

BOUNDARY = b"xYzZy"


def body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        out += (
            b"--"
            + BOUNDARY
            + b"\r\nContent-Disposition: "
            + disposition.encode()
            + b"\r\n\r\n"
            + data
            + b"\r\n"
        )
    return out + b"--" + BOUNDARY + b"--\r\n"


class Trickle(io.RawIOBase):
    """At most ``step`` bytes per read, so boundaries fall across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block, self.data = self.data[: self.step], self.data[self.step :]
        return block


def read_all(
    stream: io.RawIOBase, fields: tuple[str, ...] = ("file", "file_gzip")
) -> list[tuple[str, str, bytes]]:
    return [(f, name, part.read()) for f, name, part in file_parts(stream, BOUNDARY, fields, 10)]  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_file_parts_arrive_in_order_with_their_bytes_whatever_the_reads(step: int) -> None:
    a, b = os.urandom(50_000), b"\r\n--xYzZ\r\n" * 3  # b looks like a boundary, but is not one
    raw = body(("file", "aaa", a), ("note", None, b"ignored"), ("file_gzip", "bbb", b), ("other", "c", b"x"))
    assert read_all(Trickle(raw, step)) == [("file", "aaa", a), ("file_gzip", "bbb", b)]


def test_a_part_left_unread_is_skipped() -> None:
    raw = body(("file", "one", os.urandom(3_000_000)), ("file", "two", b"second"))
    parts = file_parts(io.BytesIO(raw), BOUNDARY, ("file",), 10)
    _, _, first = next(parts)
    assert len(first.read(10)) == 10
    assert [(name, part.read()) for _, name, part in parts] == [("two", b"second")]


def test_a_truncated_body_is_malformed() -> None:
    raw = body(("file", "one", b"x" * 1000))[:500]
    with pytest.raises(MalformedBody):
        read_all(io.BytesIO(raw))  # type: ignore[arg-type]


def test_more_parts_than_allowed_is_too_large() -> None:
    raw = body(*[("file", f"p{i}", b"x") for i in range(11)])
    with pytest.raises(RequestEntityTooLarge):
        read_all(io.BytesIO(raw))  # type: ignore[arg-type]


def test_a_block_read_without_a_boundary_in_it_is_handed_on_as_it_was_read() -> None:
    """No copy of a chunk's bytes between reading the body and hashing/writing them: each
    copy of a 32 MiB upload cost more (in page faults) than its sha1."""
    head = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
    blocks = [head, *(os.urandom(READ_SIZE - 1) + b"x" for _ in range(3)), b"\r\n--" + BOUNDARY + b"--\r\n"]
    reads = iter(blocks)
    stream = type("Blocks", (), {"read": lambda self, size=-1: next(reads, b"")})()
    parts = file_parts(stream, BOUNDARY, ("file",), 10)
    _, _, part = next(parts)
    assert all(part.read(READ_SIZE) is block for block in blocks[1:4])
    assert part.read(READ_SIZE) == b"" and part.done
    assert list(parts) == []
