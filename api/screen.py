"""The input screen: before any route runs, a 400 for what no route could store or answer well.

Every later step (marshmallow, the deciders, event encoding, the projections, the relay
document, the JSON of a response) may assume what passes here: a URL that is valid UTF-8,
headers without surrogates, and a body that, when it is JSON, is valid Unicode without NUL
characters, holds only finite numbers and is nested at most ``MAX_JSON_DEPTH`` levels.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import g, request

from api.errors import ApiError, detail

NULL_CHARACTERS = "Null characters are not allowed."  # DRF's ProhibitNullCharactersValidator
MALFORMED_JSON = "Malformed JSON request body"
INVALID_URL = "The request URL is not valid UTF-8."
MAX_SCREENED_BODY = 16 * 1024 * 1024  # larger bodies are checked by the route that parses them
# Far below the ~1000 levels Python's parser and encoders reach, so that every recursive step
# after this one (marshmallow, event encoding, projections, responses) has room to spare; real
# clients send a few levels.
MAX_JSON_DEPTH = 100

# What can only be in a body this screen must look into: a surrogate or NUL escape, the UTF-8
# bytes of a surrogate (the parser decodes bytes with ``surrogatepass``).
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    """Raised from inside the parser: JSON the parser reads and we do not accept."""


def surrogates(text: str) -> str:
    """DRF's ``ProhibitSurrogateCharactersValidator`` message, or ``""`` for valid text."""
    if text.isascii():
        return ""
    found = _SURROGATE.search(text)
    return f"Surrogate characters are not allowed: U+{ord(found.group()):X}." if found else ""


def refuse_unreadable_input() -> None:
    """``before_request`` of every route."""
    _screen_url()
    if not _ascii_headers(request.environ):  # the common case, checked without werkzeug's Headers
        for name, value in request.headers.items():
            problem = surrogates(name) or surrogates(value)
            if problem:
                raise detail(400, problem)
    size = request.content_length
    if size is None or size > MAX_SCREENED_BODY or request.mimetype == "multipart/form-data":
        return  # uploads, and bodies too large to read here: ``context.json_body`` checks those
    raw = request.get_data(cache=True)
    try:
        g.screened_json = (raw, load_json(raw))  # the route takes it over (``parsed_body``)
    except ValueError:
        return  # not JSON: the route answers that itself


def _ascii_headers(environ: dict[str, Any]) -> bool:
    """Whether every request header's name and value is ASCII (then none holds a surrogate)."""
    return all(
        key.isascii() and isinstance(value, str) and value.isascii()
        for key, value in environ.items()
        if key.startswith("HTTP_") or key in _BODY_HEADERS
    )


_BODY_HEADERS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


def parsed_body(raw: bytes) -> Any:
    """``load_json(raw)``, handed over from the screen when it parsed this very body (a large
    body is parsed once, not twice); once: a second call parses again, so no two callers share
    one mutable value."""
    screened = g.pop("screened_json", None)
    if screened is not None and screened[0] is raw:
        return screened[1]
    return load_json(raw)


def _screen_url() -> None:
    """The path and query as sent (WSGI hands them over as latin-1): invalid UTF-8, surrogates
    included, would reach the route as U+FFFD or as undecoded ``%XX``."""
    path = request.environ.get("PATH_INFO", "")
    query = request.environ.get("QUERY_STRING", "")
    try:
        raw_path = path.encode("latin-1")
        raw_query = unquote_to_bytes(query.encode("latin-1"))
        text = raw_path.decode("utf-8") + raw_query.decode("utf-8")
    except UnicodeError:
        raise detail(400, INVALID_URL) from None
    if "\x00" in text or "\x00" in request.path:
        raise detail(400, NULL_CHARACTERS)
    problem = surrogates(request.path) or next(
        (p for k, v in request.args.items(multi=True) if (p := surrogates(k) or surrogates(v))), ""
    )
    if problem:
        raise detail(400, problem)


def load_json(raw: bytes) -> Any:
    """The one parser of request bodies. ``ValueError`` when ``raw`` is no JSON at all;
    ``ApiError`` (400) for JSON we refuse: NaN, Infinity or a number too large for a float,
    nesting deeper than ``MAX_JSON_DEPTH``, a NUL character or a lone surrogate."""
    encoding = json.detect_encoding(raw)
    try:  # what ``json.loads(raw, ...)`` does, with one decoder for every call
        data = _DECODER.decode(raw.decode(encoding, "surrogatepass"))
    except (_Refused, RecursionError):
        raise detail(400, MALFORMED_JSON) from None
    if _suspect(raw) or encoding != "utf-8":
        _check(data)
    elif raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
        _check_depth(data)  # its text holds nothing to refuse (no suspect bytes): depth alone
    return data


def _suspect(raw: bytes) -> bool:
    # Most bodies hold neither an escape nor the lead byte of a surrogate: two byte searches.
    return (b"\\u" in raw or b"\xed" in raw) and _SUSPECT.search(raw) is not None


def _refuse_constant(name: str) -> Any:
    raise _Refused(name)


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e400
        raise _Refused(text)
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)


def _check(data: Any) -> None:
    """Walk the parsed value without recursion (it may be deep)."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ApiError(400, {"detail": MALFORMED_JSON})
            if isinstance(item, dict):
                pending.extend((key, depth) for key in item)
                pending.extend((value, depth + 1) for value in item.values())
            else:
                pending.extend((value, depth + 1) for value in item)


def _check_depth(data: Any) -> None:
    """``_check`` of the containers only: a large body (10,000 commits) has a hundred thousand
    strings, each of which ``_check`` would look at. Level by level, no tuple per value: a
    fifth of the time of a stack of (value, depth) pairs on such a body."""
    level, depth = [data] if type(data) is dict or type(data) is list else [], 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise ApiError(400, {"detail": MALFORMED_JSON})
        below = []
        for item in level:
            for value in item.values() if type(item) is dict else item:
                if type(value) is dict or type(value) is list:
                    below.append(value)
        level, depth = below, depth + 1


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise detail(400, NULL_CHARACTERS)
    problem = surrogates(text)
    if problem:
        raise detail(400, problem)
