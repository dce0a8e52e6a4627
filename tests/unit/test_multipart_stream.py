"""The multipart decoder a chunk upload's body is fed to as it arrives (not werkzeug's form parser)."""

from __future__ import annotations

import os

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from api.multipart import READ_SIZE, FileParts, MalformedBody

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


class Parts:
    """A sink that keeps what it was given, and each block of bytes as it came."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, bytes]] = []
        self.blocks: list[bytes] = []

    def begin(self, field: str, filename: str) -> None:
        self.parts.append((field, filename, b""))

    def write(self, data: bytes) -> None:
        field, name, got = self.parts[-1]
        self.parts[-1] = (field, name, got + data)
        self.blocks.append(data)

    def end(self) -> None:
        self.blocks.append(b"<end>")


def pushed(
    raw: bytes, step: int, fields: tuple[str, ...] = ("file", "file_gzip"), max_parts: int = 10
) -> Parts:
    sink = Parts()
    parts = FileParts(BOUNDARY, fields, max_parts, sink)
    for at in range(0, len(raw), step):
        parts.feed(raw[at : at + step])
    parts.close()
    return sink


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_file_parts_arrive_in_order_with_their_bytes_whatever_the_blocks(step: int) -> None:
    a, b = os.urandom(50_000), b"\r\n--xYzZ\r\n" * 3  # b looks like a boundary, but is not one
    raw = body(("file", "aaa", a), ("note", None, b"ignored"), ("file_gzip", "bbb", b), ("other", "c", b"x"))
    assert pushed(raw, step).parts == [("file", "aaa", a), ("file_gzip", "bbb", b)]


def test_a_truncated_body_is_malformed_when_it_ends() -> None:
    raw = body(("file", "one", b"x" * 1000))[:500]
    parts = FileParts(BOUNDARY, ("file",), 10, Parts())
    parts.feed(raw)
    with pytest.raises(MalformedBody):
        parts.close()


def test_more_parts_than_allowed_is_too_large() -> None:
    raw = body(*[("file", f"p{i}", b"x") for i in range(11)])
    with pytest.raises(RequestEntityTooLarge):
        pushed(raw, 1 << 20)


def test_what_follows_the_closing_boundary_is_ignored() -> None:
    raw = body(("file", "one", b"data")) + b"epilogue"
    assert pushed(raw, 3).parts == [("file", "one", b"data")]


def test_a_block_without_a_boundary_in_it_is_handed_on_as_it_was_pushed() -> None:
    """No copy of a chunk's bytes between receiving the body and hashing/writing them: each
    copy of a 32 MiB upload cost more (in page faults) than its sha1."""
    head = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
    blocks = [head, *(os.urandom(READ_SIZE - 1) + b"x" for _ in range(3)), b"\r\n--" + BOUNDARY + b"--\r\n"]
    sink = Parts()
    parts = FileParts(BOUNDARY, ("file",), 10, sink)
    for block in blocks:
        parts.feed(block)
    parts.close()
    assert all(got is block for got, block in zip(sink.blocks[:3], blocks[1:4], strict=True))
    assert sink.blocks[3:] == [b"<end>"]
