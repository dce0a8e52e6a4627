"""Sentry's slug rules (sentry-behaviour 8.1)."""

from __future__ import annotations

import pytest

from commands.slugs import slugify, unique_slug

SUFFIXES = ("xy", "zw", "abc")


def taken_by(*slugs: str):  # type: ignore[no-untyped-def]
    return lambda s: s in slugs


@pytest.mark.parametrize(
    ("label", "taken", "expected"),
    [
        ("matt", (), "matt"),
        ("matt", ("matt",), "matt-xy"),
        ("matt", ("matt", "matt-xy"), "matt-zw"),
        ("settings", (), "fallback1234"),
        ("1234", (), "1234-xy"),
        ("f o o", (), "f-o-o"),
        ("_foo_", (), "foo"),
        ("", (), "fallback1234"),
        ("Héllo Wörld!", (), "hello-world"),
    ],
)
def test_slug_table(label: str, taken: tuple[str, ...], expected: str) -> None:
    assert unique_slug(label, taken_by(*taken), SUFFIXES, "fallback1234") == expected


def test_max_length_and_suffix_room() -> None:
    assert unique_slug("matt", taken_by(), SUFFIXES, "f" * 12, max_length=2) == "ma"
    long = "a" * 60
    assert unique_slug(long, taken_by(), SUFFIXES, "f" * 12) == "a" * 50
    assert unique_slug(long, taken_by("a" * 50), SUFFIXES, "f" * 12) == "a" * 47 + "-xy"


def test_no_free_candidate() -> None:
    assert unique_slug("x", lambda s: True, SUFFIXES, "f" * 12) is None


def test_slugify_is_djangos() -> None:
    assert slugify("  Hello -- World  ") == "hello-world"
    assert slugify("a_b") == "a_b"
