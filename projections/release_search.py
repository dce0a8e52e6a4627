"""Sentry's release search (``?query=`` of the release lists) and its semver and build orders,
over releases the view returned: ``release:`` (wildcards, ``[a,b]``, ``!``, ``latest``),
``semver:`` (operators, ``1.2.*``, ``!``), ``semver.package:``, ``semver.build:``,
``finalized:``, ``release.created:`` and free text (a substring of the version, or Sentry's
``1.0 (1234)`` form of ``1.0+1234``). Sentry keeps the parsed version in columns of the release;
eventry parses it here when a query or sort needs it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sentry_relay.processing import parse_release

BIGINT_MAX = 2**63 - 1
KEYS = (
    "release", "semver", "semver.package", "semver.build", "finalized", "release.created", "release.stage",
)  # fmt: skip
TERM = re.compile(r'(!?)([A-Za-z_][\w.]*):(\[[^\]]*\]|"[^"]*"|\S*)')
OPERATORS = (">=", "<=", "!=", ">", "<", "=")
RELEASE_SUFFIX = re.compile(r"^(.*)\s+\(([^)]+)\)\s*$")  # Sentry's _release_suffix: "1.0 (1234)"
INVALID_SEMVER = (
    "Invalid format of semantic version. For searching non-semver releases, use `release:` instead."
)
WILDCARDS = ("X", "*")
Release = Mapping[str, Any]
R = TypeVar("R", bound=Release)


class InvalidSearch(ValueError):
    """A query Sentry answers with 400 ``{"detail": message}``."""


@dataclass(frozen=True)
class Term:
    key: str
    operator: str  # one of OPERATORS, "IN" or "NOT IN"
    value: str | tuple[str, ...]


def parse_query(query: str) -> tuple[list[Term], bool]:
    """The query's key terms, and whether it has free text (Sentry then matches the whole
    query against the version, as its endpoint does)."""
    terms: list[Term] = []
    free = TERM.sub(lambda m: _term(m, terms), query)
    return terms, bool(free.strip())


def _term(match: re.Match[str], terms: list[Term]) -> str:
    negated, key, raw = match[1] == "!", match[2], match[3]
    if key not in KEYS:
        raise InvalidSearch(f"Invalid key for this search: {key}")
    if raw.startswith("[") and raw.endswith("]"):
        values = tuple(v.strip().strip('"') for v in raw[1:-1].split(",") if v.strip())
        terms.append(Term(key, "NOT IN" if negated else "IN", values))
        return " "
    operator = next((op for op in OPERATORS if raw.startswith(op)), "=")
    value = raw[len(operator) :] if raw.startswith(operator) else raw
    if negated:
        operator = "!=" if operator == "=" else operator
    terms.append(Term(key, operator, value.strip('"')))
    return " "


@dataclass(frozen=True)
class Parsed:
    """The columns Sentry keeps for a release version (``Release.SEMVER_COLS`` and build)."""

    package: str | None
    semver: tuple[int, int, int, int, int, str] | None  # major, minor, patch, revision, no-pre, pre
    build_code: str | None
    build_number: int | None


def parse_version(version: str) -> Parsed:
    try:
        info = parse_release(version)
    except Exception:  # Relay cannot parse it: no semver columns, as in Sentry
        return Parsed(None, None, None, None)
    parsed = info.get("version_parsed")
    if not parsed or any(not 0 <= parsed[f] <= BIGINT_MAX for f in ("major", "minor", "patch", "revision")):
        return Parsed(info.get("package"), None, None, None)
    pre = parsed["pre"] or ""
    code = parsed["build_code"]
    number = int(code) if code and code.isdecimal() and int(code) <= BIGINT_MAX else None
    semver = (parsed["major"], parsed["minor"], parsed["patch"], parsed["revision"], 0 if pre else 1, pre)
    return Parsed(info.get("package"), semver, code, number)


def _compare(left: Any, operator: str, right: Any) -> bool:
    return {
        "=": left == right, "!=": left != right, ">": left > right,
        "<": left < right, ">=": left >= right, "<=": left <= right,
    }[operator]  # fmt: skip


def _semver_filter(value: str, operator: str) -> Callable[[Parsed], bool]:
    """Sentry's ``parse_semver`` and ``filter_by_semver``: a full version compares all six
    columns; a wildcard (``1.2.*``) the leading ones, for equality."""
    negated = operator == "!="
    operator = "=" if negated else operator
    if operator in ("IN", "NOT IN"):
        raise InvalidSearch("Invalid operation 'IN' for semantic version filter.")
    text = value if "@" in value else f"sentry_fake@{value}"
    parsed = parse_version(text)
    package: str | None = parsed.package
    parts: tuple[Any, ...]
    if parsed.semver is not None:
        parts = parsed.semver
    else:
        package, _, version = text.partition("@")
        numbers: list[int] = []
        for part in version.split(".", 3) if version else ():
            if part in WILDCARDS:
                break
            if not part.isdecimal():
                raise InvalidSearch(INVALID_SEMVER)
            numbers.append(int(part))
        parts, operator = tuple(numbers), "="
    package = None if package == "sentry_fake" else package

    def match(p: Parsed) -> bool:
        hit = (package is None or p.package == package) and (
            not parts or (p.semver is not None and _compare(p.semver[: len(parts)], operator, parts))
        )
        return not hit if negated else hit

    return match


def _build_filter(value: str, operator: str) -> Callable[[Parsed], bool]:
    """Sentry's ``filter_by_semver_build``: a number compares ``build_number``, text matches
    ``build_code`` (a trailing ``*`` as a prefix)."""
    negated = operator == "!="
    operator = "=" if negated else operator
    if value.isdecimal() and int(value) <= BIGINT_MAX:
        number = int(value)

        def hit(p: Parsed) -> bool:
            return p.build_number is not None and _compare(p.build_number, operator, number)
    elif not value or value.endswith("*"):

        def hit(p: Parsed) -> bool:
            return p.build_code is not None and p.build_code.startswith(value[:-1])
    else:

        def hit(p: Parsed) -> bool:
            return p.build_code == value

    return (lambda p: not hit(p)) if negated else hit


def _release_filter(term: Term, latest: Callable[[], set[str]]) -> Callable[[str], bool]:
    value = term.value
    if isinstance(value, tuple):
        wanted = set(value)
        return (lambda v: v not in wanted) if term.operator == "NOT IN" else (lambda v: v in wanted)
    if value.startswith("*") and value.endswith("*") and len(value) > 1:
        return lambda v: value[1:-1] in v
    if value.startswith("*"):
        return lambda v: v.endswith(value[1:])
    if value.endswith("*"):
        return lambda v: v.startswith(value[:-1])
    if term.operator == "!=":
        return lambda v: v != value
    if value == "latest":
        versions = latest()
        return lambda v: v in versions
    return lambda v: v == value


def _created_filter(term: Term) -> Callable[[Release], bool]:
    try:
        when = _utc(str(term.value))
    except ValueError:
        raise InvalidSearch(f"{term.value} is not a valid ISO8601 date query") from None
    operator = "=" if term.operator == "!=" else term.operator
    return lambda r: _compare(_utc(r["date_added"]), operator, when) != (term.operator == "!=")


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def release_filter(query: str, latest: Callable[[], set[str]]) -> Callable[[Release], bool]:
    """A predicate over releases for Sentry's ``_filter_releases_by_query``; ``latest`` gives
    the versions ``release:latest`` means (asked only when the query has it)."""
    terms, free = parse_query(query)
    checks: list[Callable[[Release], bool]] = []
    if free:
        texts = [query.lower()]
        if (suffix := RELEASE_SUFFIX.match(query)) is not None:
            texts.append(f"{suffix[1]}+{suffix[2]}".lower())
        checks.append(lambda r: any(t in r["version"].lower() for t in texts))
    for term in terms:
        checks.append(_check(term, latest))
    return lambda r: all(check(r) for check in checks)


def _check(term: Term, latest: Callable[[], set[str]]) -> Callable[[Release], bool]:
    value = term.value if isinstance(term.value, str) else ""
    if term.key == "finalized":
        wanted = {"true": True, "false": False}.get(value)
        return lambda r: wanted is None or bool(r["date_released"]) == wanted
    if term.key == "release":
        match = _release_filter(term, latest)
        return lambda r: match(r["version"])
    if term.key == "semver":
        semver = _semver_filter(value, term.operator)
        return lambda r: semver(parse_version(r["version"]))
    if term.key == "semver.package":
        negated = term.operator == "!="
        return lambda r: (parse_version(r["version"]).package == value) != negated
    if term.key == "semver.build":
        build = _build_filter(value, term.operator)
        return lambda r: build(parse_version(r["version"]))
    if term.key == "release.created":
        return _created_filter(term)
    return lambda r: True  # release.stage: adoption needs sessions, which eventry does not have


def semver_order(releases: Iterable[R]) -> list[R]:
    """Sentry's ``sort=semver``: the semver columns descending, releases without them last,
    then the newest created first."""
    by_date = sorted(releases, key=lambda r: (r["date_added"], r["id"]), reverse=True)
    return sorted(by_date, key=lambda r: _semver_desc(parse_version(r["version"]).semver))


def _semver_desc(semver: tuple[int, int, int, int, int, str] | None) -> tuple[Any, ...]:
    if semver is None:
        return (1,)
    major, minor, patch, revision, no_pre, pre = semver
    return (0, -major, -minor, -patch, -revision, -no_pre, _Reversed(pre))


@dataclass(frozen=True)
class _Reversed:
    text: str

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text


def build_order(releases: Iterable[R]) -> list[R]:
    """Sentry's ``sort=build``: releases with a numeric build, the highest first."""
    numbered = [(parse_version(r["version"]).build_number, r) for r in releases]
    return [r for n, r in sorted(((n, r) for n, r in numbered if n is not None), key=lambda x: -x[0])]


def follows_semver(releases: Sequence[Release]) -> bool:
    """Sentry's ``follows_semver_versioning_scheme`` over a project's ten newest open releases."""
    semver = [parse_version(r["version"]).semver is not None for r in releases[:10]]
    if not semver:
        return False
    if len(semver) <= 2:
        return semver[0]
    if len(semver) < 10:
        return any(semver[:3])
    return any(semver[:3]) and sum(semver) >= 3


def latest_version(releases: Sequence[Release]) -> str | None:
    """Sentry's ``get_latest_release`` for one project, given its releases newest first: the
    highest semver when the project follows semver, else the newest."""
    if not releases:
        return None
    opened = [r for r in releases if r["status"] == "open"]
    if follows_semver(opened):
        ordered = semver_order(r for r in releases if parse_version(r["version"]).semver is not None)
        return ordered[0]["version"] if ordered else None
    return releases[0]["version"]
