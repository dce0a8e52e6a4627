"""Sentry's release search and orders (projections/release_search.py), on release rows."""

from __future__ import annotations

from typing import Any

import pytest

from projections.release_search import (
    InvalidSearch,
    build_order,
    latest_version,
    parse_query,
    release_filter,
    semver_order,
)


def rows(*versions: str, released: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Newest first, as the view lists them: the last version was created last."""
    made = [
        {"id": n, "version": v, "status": "open", "date_added": f"2024-01-01T00:00:{n:02d}+00:00",
         "date_released": "2024-02-01T00:00:00+00:00" if v in released else None}
        for n, v in enumerate(versions)
    ]  # fmt: skip
    return made[::-1]


def found(query: str, releases: list[dict[str, Any]], latest: set[str] | None = None) -> list[str]:
    wanted = release_filter(query, lambda: latest or set())
    return [r["version"] for r in releases if wanted(r)]


def test_free_text_is_a_substring_and_knows_the_build_suffix_form() -> None:
    releases = rows("com.foo.BarApp@1.0+1234", "other")
    assert found("bar", releases) == ["com.foo.BarApp@1.0+1234"]
    assert found("1.0 (1234)", releases) == ["com.foo.BarApp@1.0+1234"]


def test_release_key_wildcards_lists_and_negation() -> None:
    releases = rows("release2", "foobar")
    assert found("release:foo*", releases) == ["foobar"]
    assert found("release:*bar", releases) == ["foobar"]
    assert found("release:*oob*", releases) == ["foobar"]
    assert found("release:[foobar,release2]", releases) == ["foobar", "release2"]
    assert found("!release:[foobar]", releases) == ["release2"]
    assert found("!release:foobar", releases) == ["release2"]
    assert found("release:latest", releases, {"release2"}) == ["release2"]


def test_semver_operators_wildcards_package_and_build() -> None:
    releases = rows("test@1.2.4+124", "test@1.2.3+123", "test2@1.2.5+125", "some.release")
    assert found("semver:>1.2.3", releases) == ["test2@1.2.5+125", "test@1.2.4+124"]
    assert found("semver:1.2.*", releases) == ["test2@1.2.5+125", "test@1.2.3+123", "test@1.2.4+124"]
    assert found("!semver:1.2.3", releases) == ["some.release", "test2@1.2.5+125", "test@1.2.4+124"]
    assert found("semver:test2@1.2.*", releases) == ["test2@1.2.5+125"]
    assert found("semver.package:test", releases) == ["test@1.2.3+123", "test@1.2.4+124"]
    assert found("semver.build:>124", releases) == ["test2@1.2.5+125"]
    assert found("!semver.build:125", releases) == ["some.release", "test@1.2.3+123", "test@1.2.4+124"]


def test_finalized_and_unknown_values() -> None:
    releases = rows("a", "b", released=("a",))
    assert found("finalized:true", releases) == ["a"]
    assert found("finalized:false", releases) == ["b"]
    assert found("finalized:maybe", releases) == ["b", "a"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("nope:1", "Invalid key for this search: nope"),
        ("semver:1.x.y", "Invalid format of semantic version. For searching non-semver releases, use "
                         "`release:` instead."),
        ("semver:[1.0.0]", "Invalid operation 'IN' for semantic version filter."),
        ("release.created:yesterday", "yesterday is not a valid ISO8601 date query"),
    ],
)  # fmt: skip
def test_bad_queries_are_refused_with_sentrys_message(query: str, message: str) -> None:
    with pytest.raises(InvalidSearch) as caught:
        release_filter(query, set)
    assert str(caught.value) == message


def test_parse_query_separates_terms_from_free_text() -> None:
    terms, free = parse_query('release:"a b" semver:>=1.0 text')
    assert [(t.key, t.operator, t.value) for t in terms] == [("release", "=", "a b"), ("semver", ">=", "1.0")]
    assert free


def test_semver_order_puts_versions_without_semver_last_newest_first() -> None:
    made = ["test@2.2", "test@10.0+122", "test@2.2-alpha", "test@2.2.3", "test@2.20.3",
            "test@2.20.3.3", "test@10.0+123", "test@some_thing", "random_junk"]  # fmt: skip
    r1, r2, r3, r4, r5, r6, r7, r8, r9 = made
    assert [r["version"] for r in semver_order(rows(*made))] == [r7, r2, r6, r5, r4, r1, r3, r9, r8]


def test_build_order_keeps_numeric_builds_only() -> None:
    made = rows("test@1.2+1000", "test@1.2+1", "test@1.2+200", "test@1.2", "test@1.2+500alpha")
    assert [r["version"] for r in build_order(made)] == ["test@1.2+1000", "test@1.2+200", "test@1.2+1"]


def test_latest_version_follows_semver_or_the_date() -> None:
    assert latest_version(rows("test@2.2", "test@2.2-alpha", "test@2.2+122")) == "test@2.2+122"
    assert latest_version(rows("test@3.0", "b", "c", "d")) == "d"
    assert latest_version([]) is None
