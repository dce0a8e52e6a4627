"""Which issues a commit message says it fixes (Sentry's ``utils/groupreference.py``).

Pure text work: the references found here are resolved to groups by the caller (a view
lookup) and checked again by the deciders against the groups' own state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

_markdown_strip_re = re.compile(r"\[([^]]+)\]\([^)]+\)", re.I)
_fix_keywords = r"(?:Fix|Fixes|Fixed|Close|Closes|Closed|Resolve|Resolves|Resolved)"
_fixes_re = re.compile(rf"\b{_fix_keywords}:?\s+([A-Za-z0-9_\-\s\,]+)\b", re.I)
_short_id_re = re.compile(r"\b([A-Z0-9_-]+-[A-Z0-9]+)\b", re.I)
_fixes_url_re = re.compile(rf"\b{_fix_keywords}:?\s+(https?://[^\s]+)", re.I)
_issue_url_re = re.compile(r"/issues/(\d+)")
# Every reference follows a fix keyword; a message with none (and no markdown link, whose
# removal could join one) has none: one search instead of two rewrites and four scans.
_maybe_re = re.compile(r"fix|close|resolve|\]\(", re.I)
_MAYBE_WORDS = ("fix", "close", "resolve", "](")  # ``_maybe_re`` as lower-case ASCII words
MAX_BIGINT = 9223372036854775807

BASE32_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def base32_encode(number: int) -> str:
    if number == 0:
        return BASE32_ALPHABET[0]
    digits = []
    while number:
        number, i = divmod(number, 32)
        digits.append(BASE32_ALPHABET[i])
    return "".join(reversed(digits))


def base32_decode(text: str) -> int:
    """Crockford-style, as Sentry reads short ids: O is 0, I and L are 1. ValueError if invalid."""
    value = 0
    for symbol in text.upper().replace("O", "0").replace("I", "1").replace("L", "1"):
        value = value * 32 + BASE32_ALPHABET.index(symbol)
    return value


def qualified_short_id(project_slug: str, short_id: int) -> str:
    return f"{project_slug.upper()}-{base32_encode(short_id)}"


def parse_short_id(text: str) -> tuple[str, int] | None:
    """``PROJ-1A`` -> (project slug, number), or None when it cannot be one."""
    slug, sep, number = text.rpartition("-")
    if not sep or not slug or not number:
        return None
    try:
        return slug.lower(), base32_decode(number)
    except ValueError:
        return None


def short_id_references(text: str | None) -> list[str]:
    """The short ids (upper-cased) that follow a fix keyword, in order of appearance."""
    if not text:
        return []
    text = _markdown_strip_re.sub(r"\1", text)
    return [
        smatch.group(1).upper()
        for fmatch in _fixes_re.finditer(text)
        for smatch in _short_id_re.finditer(fmatch.group(1))
    ]


def issue_url_references(text: str | None, url_prefix: str) -> list[int]:
    """Issue ids of ``Fixes https://<our host>/.../issues/<id>/`` references."""
    if not text:
        return []
    text = _markdown_strip_re.sub(r"\1", text)
    app_host = urlparse(url_prefix).netloc.lower()
    found = []
    for fmatch in _fixes_url_re.finditer(text):
        url = fmatch.group(1)
        host = urlparse(url).netloc.lower()
        if not host or not app_host or not (host == app_host or host.endswith(f".{app_host}")):
            continue
        match = _issue_url_re.search(urlparse(url).path)
        if match and int(match.group(1)) <= MAX_BIGINT:
            found.append(int(match.group(1)))
    return found


def references(text: str | None, url_prefix: str) -> list[str]:
    """Every reference as a key the caller resolves: ``SHORT-ID`` or ``#<group id>``."""
    if not text or _maybe_re.search(text) is None:
        return []
    return [*short_id_references(text), *(f"#{i}" for i in issue_url_references(text, url_prefix))]


def references_in(texts: Iterable[str | None], url_prefix: str) -> set[str]:
    """``references`` of every text: one search of them all first (no keyword can span the
    line break between two), so a list of 10,000 messages that mention no fix costs a few
    scans. ASCII text (the usual) is searched lower-cased for ``_maybe_re``'s words, which is
    the same test and several times faster than the case-insensitive pattern."""
    given = [text for text in texts if text]
    joined = "\n".join(given)
    if joined.isascii():
        lowered = joined.lower()
        maybe = any(word in lowered for word in _MAYBE_WORDS)
    else:
        maybe = _maybe_re.search(joined) is not None
    if not maybe:
        return set()
    return {ref for text in given for ref in references(text, url_prefix)}
