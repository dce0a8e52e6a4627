"""The environments view, fed events directly: ids are the positions of the events that made
each row, visibility filters as Sentry's, nameless environments and other organizations never
listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from events.environments import EnvironmentCreated, EnvironmentProjectAdded, EnvironmentVisibilitySet
from infra.db import SqliteDatabase
from projections import Environments
from projections import environments as queries
from projections.environments import EnvironmentProjectRow
from tests.unit.test_projections import Feeder

ORG, OTHER_ORG, P1, P2, P3 = 7, 8, 11, 12, 13


@pytest.fixture
def feeder(tmp_path: Path) -> Iterator[Feeder]:
    database = SqliteDatabase(tmp_path / "views.sqlite3")
    yield Feeder(database, Environments())
    database.close()


def made(f: Feeder, org: int, name: str, *projects: int) -> int:
    """The environment and its attachments; the environment's position."""
    position = f.feed(EnvironmentCreated(org, name))
    for project in projects:
        f.feed(EnvironmentProjectAdded(org, name, project, None))
    return position


def test_ids_are_positions_and_lists_are_by_name(feeder: Feeder) -> None:
    prod = made(feeder, ORG, "production", P1, P2)  # positions 1, 2, 3
    staging = made(feeder, ORG, "staging", P1)  # 4, 5
    made(feeder, OTHER_ORG, "production", P3)
    for view in feeder.read():
        assert queries.project_environments(view, P1) == [
            EnvironmentProjectRow(prod + 1, "production", None),
            EnvironmentProjectRow(staging + 1, "staging", None),
        ]
        assert queries.project_environments(view, P2) == [EnvironmentProjectRow(prod + 2, "production", None)]
        assert queries.organization_environments(view, ORG, (P1, P2), "all") == [
            (prod, "production"),
            (staging, "staging"),
        ]
        assert queries.organization_environments(view, ORG, (P2,), "all") == [(prod, "production")]
        assert queries.organization_environments(view, ORG, (P3,), "all") == []  # another org's project
        assert queries.existing_names(view, ORG, ["production", "nope"]) == {"production"}


def test_visibility_is_per_project_and_never_set_counts_as_visible(feeder: Feeder) -> None:
    made(feeder, ORG, "production", P1, P2)
    made(feeder, ORG, "staging", P1)
    feeder.feed(EnvironmentVisibilitySet(ORG, P1, ("production", "unknown"), True))
    feeder.feed(EnvironmentVisibilitySet(ORG, P1, ("staging",), False))
    for view in feeder.read():
        assert [r.name for r in queries.project_environments(view, P1, "visible")] == ["staging"]
        assert [(r.name, r.is_hidden) for r in queries.project_environments(view, P1, "hidden")] == [
            ("production", True)
        ]
        assert [r.is_hidden for r in queries.project_environments(view, P2, "all")] == [None]
        # An environment is listed when one of the chosen projects' attachments passes the filter.
        assert [n for _, n in queries.organization_environments(view, ORG, (P1, P2), "visible")] == [
            "production",
            "staging",
        ]
        assert [n for _, n in queries.organization_environments(view, ORG, (P1,), "visible")] == ["staging"]
        assert [n for _, n in queries.organization_environments(view, ORG, (P1,), "hidden")] == ["production"]


def test_nameless_environment_is_never_listed_and_replays_fold_once(feeder: Feeder) -> None:
    made(feeder, ORG, "", P1)
    first = made(feeder, ORG, "production", P1)
    feeder.feed(EnvironmentCreated(ORG, "production"), EnvironmentProjectAdded(ORG, "production", P1, True))
    for view in feeder.read():
        assert queries.project_environments(view, P1, "all") == [
            EnvironmentProjectRow(first + 1, "production", None)
        ]
        assert queries.organization_environments(view, ORG, (P1,), "all") == [(first, "production")]
        assert queries.project_environments(view, P1, "all", names=[]) == []
