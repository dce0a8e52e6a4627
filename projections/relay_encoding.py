"""The stored form of a relay config document, and what a fetch does to it without parsing it.

A document is stored (in the view and in Redis) as compact JSON laid out for splicing:
``{"rev":"<32 hex>","config":{...},<the other members, sorted>}``, or ``{"disabled":true}``.
Its ``rev`` is then at a fixed place (``unchanged`` needs no parse), and a fetch serves it by
putting ``lastFetch`` in front and, under dynamic sampling, ``sampling`` first in ``config``:
concatenation of stored bytes, no JSON decoded or encoded per request. Object members are
unordered in JSON, so Relay reads the same document as if it had been encoded whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import Any, cast

from projections.json_text import dumps

DISABLED = '{"disabled":true}'
_HEAD = b'{"rev":"'
_REV_LENGTH = 32
_CONFIG_OPENS = b'","config":{'
_CONFIG_AT = len(_HEAD) + _REV_LENGTH + len(_CONFIG_OPENS)  # the first byte inside ``config``
_DISABLED = DISABLED.encode()
_VIEW = cast("Callable[[bytes], memoryview]", memoryview)
_AFTER_BRACE = itemgetter(slice(1, None))  # what follows a document's opening brace
_HEAD_BYTES = itemgetter(slice(0, _CONFIG_AT))
# Heads of documents in the stored layout, one after the other (each _CONFIG_AT bytes long).
_HEADS_LAID_OUT = re.compile(
    b"(?:%s.{%d}%s)*" % (re.escape(_HEAD), _REV_LENGTH, re.escape(_CONFIG_OPENS)), re.S
)


def compact(value: Any) -> str:
    return dumps(value, sort_keys=True)


def encode(doc: dict[str, Any]) -> str:
    """A document in the stored layout (the same bytes for the same document)."""
    if doc.get("disabled"):
        return DISABLED
    rev, config = doc["rev"], doc["config"]
    rest = {k: v for k, v in doc.items() if k not in ("rev", "config")}
    if len(rev) != _REV_LENGTH or not config or not rest or compact(rev)[1:-1] != rev:
        return compact(doc)  # served all the same, through the parsing path
    return f'{{"rev":"{rev}","config":{compact(config)},{compact(rest)[1:]}'


def _laid_out(raw: bytes) -> bool:
    return raw.startswith(_HEAD) and raw.startswith(_CONFIG_OPENS, _CONFIG_AT - len(_CONFIG_OPENS))


def is_disabled(raw: bytes) -> bool:
    return raw == _DISABLED


def rev_of(raw: bytes) -> str | None:
    """The stored document's ``rev``; None when it has none or is not in the stored layout."""
    return raw[len(_HEAD) : len(_HEAD) + _REV_LENGTH].decode() if _laid_out(raw) else None


def spliced(raw: bytes, last_fetch: bytes, sampling: bytes | None) -> bytes | None:
    """The document as a fetch serves it: ``lastFetch`` added, and ``sampling`` (encoded JSON)
    when given; a disabled one as stored. None when ``raw`` is not in the stored layout."""
    parts = spliced_parts(raw, fetch_head(last_fetch), sampling)
    return None if parts is None else b"".join(parts)


Parts = tuple[bytes | memoryview, ...]


def fetch_head(last_fetch: bytes) -> bytes:
    """What every document of one fetch starts with: its ``lastFetch`` (the same for all)."""
    return b'{"lastFetch":"' + last_fetch + b'",'


def spliced_parts(raw: bytes, head: bytes, sampling: bytes | None) -> Parts | None:
    """``spliced`` as pieces to join (views of ``raw``, not copies): a response of many
    documents copies each one once, when it joins them all. ``head`` is ``fetch_head``'s."""
    if not _laid_out(raw):
        return (raw,) if raw == _DISABLED else None
    rest = memoryview(raw)
    if sampling is None:
        return head, rest[1:]
    return head, rest[1:_CONFIG_AT], b'"sampling":', sampling, b",", rest[_CONFIG_AT:]


def spliced_members(
    names: list[bytes], docs: list[bytes | None], head: bytes
) -> list[bytes | memoryview] | None:
    """``names[i]`` followed by ``spliced_parts(docs[i], head, None)``, for every document, as
    one list of pieces: a whole response's worth at once, without a call per document. None
    unless every document is there and in the stored layout (the caller then goes one by one)."""
    if None in docs:
        return None
    laid_out = cast(list[bytes], docs)
    count = len(laid_out)
    heads = b"".join(map(_HEAD_BYTES, laid_out))  # each document's first _CONFIG_AT bytes
    if len(heads) != count * _CONFIG_AT or not _HEADS_LAID_OUT.fullmatch(heads):  # ``_laid_out`` of each
        return None
    pieces: list[bytes | memoryview] = [head] * (3 * count)
    pieces[0::3] = names
    pieces[2::3] = map(_AFTER_BRACE, map(_VIEW, laid_out))  # as ``spliced_parts`` cuts them
    return pieces
