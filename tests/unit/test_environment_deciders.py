"""Environment deciders: given events / when a command / then events. A deploy makes the
environment and attaches it to the deploy's projects (Sentry's ``get_or_create`` and
``add_project``); the details and bulk routes hide or show it per project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from commands import Decision, NotFound, decide
from commands.base import FieldErrors
from commands.environments import EnvironmentsState, SetEnvironmentVisibility, is_valid_name
from commands.releases import CreateDeploy, ReleaseState
from events import Event
from events.environments import (
    EnvironmentCreated,
    EnvironmentProjectAdded,
    EnvironmentVisibilitySet,
    environments_stream,
)
from events.releases import DeployCreated, ReleaseCreated, ReleaseProjectsAdded, release_stream

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORG, RID, P1, P2 = 7, 1001, 11, 12
RELEASE = (
    ReleaseCreated(RID, ORG, "1.0", NOW.isoformat(), None, None, None, None, "open", ""),
    ReleaseProjectsAdded(RID, ORG, "1.0", (P1, P2), (), None),
)
PROD = EnvironmentCreated(ORG, "production")
PROD_P1 = EnvironmentProjectAdded(ORG, "production", P1, None)


def deploy(environment: str = "production", projects: tuple[int, ...] | None = None) -> CreateDeploy:
    return CreateDeploy(ORG, "1.0", 9, environment, None, None, None, None, projects)


def when(
    command: Any, environments: tuple[Event, ...] = (), release: tuple[Event, ...] = RELEASE
) -> Decision:
    states = {"release": ReleaseState.fold(release), "environments": EnvironmentsState.fold(environments)}
    if isinstance(command, SetEnvironmentVisibility):
        del states["release"]
    return decide(command, NOW, states)  # type: ignore[arg-type]


def then(decision: Decision) -> list[Event]:
    return [c.event for c in decision.changes]


def test_a_first_deploy_to_an_environment_makes_it_and_attaches_the_releases_projects() -> None:
    decision = when(deploy())
    assert then(decision)[:3] == [
        PROD,
        PROD_P1,
        EnvironmentProjectAdded(ORG, "production", P2, None),
    ]
    assert isinstance(then(decision)[3], DeployCreated)
    streams = [c.stream for c in decision.changes]
    assert streams == [environments_stream(ORG)] * 3 + [release_stream(ORG, "1.0")]


def test_a_deploy_attaches_only_its_own_projects_and_only_once() -> None:
    decision = when(deploy(projects=(P2, P2)), environments=(PROD, PROD_P1))
    assert then(decision)[:-1] == [EnvironmentProjectAdded(ORG, "production", P2, None)]
    again = when(deploy(projects=(P1,)), environments=(PROD, PROD_P1))
    assert [type(e) for e in then(again)] == [DeployCreated]


def test_a_deploy_of_a_release_without_projects_makes_an_environment_of_no_project() -> None:
    decision = when(deploy(), release=RELEASE[:1])
    assert then(decision)[:-1] == [PROD]


def test_a_deploy_refuses_a_name_sentry_refuses_and_appends_nothing() -> None:
    for name in ("", "a/b", "a\rb", "a\fb", "x" * 65):
        with pytest.raises(FieldErrors) as refused:
            when(deploy(name))
        assert refused.value.errors == {"environment": ["Invalid value for environment"]}
    assert is_valid_name("x" * 64) and is_valid_name("PROD STAGE?#%") and is_valid_name("a\tb")


def test_a_deploy_refusal_for_its_projects_makes_no_environment() -> None:
    release = (RELEASE[0], ReleaseProjectsAdded(RID, ORG, "1.0", (P1,), (), None))
    with pytest.raises(FieldErrors):
        when(deploy(projects=(P2,)), release=release)


def visibility(*names: str, hidden: bool | None = True, bulk: bool = False) -> SetEnvironmentVisibility:
    return SetEnvironmentVisibility(ORG, P1, names, hidden, bulk)


def test_hiding_an_environment_of_the_project() -> None:
    decision = when(visibility("production"), environments=(PROD, PROD_P1))
    assert then(decision) == [EnvironmentVisibilitySet(ORG, P1, ("production",), True)]
    assert decision.result == {"production": True}


def test_setting_what_is_already_set_or_nothing_appends_nothing() -> None:
    hidden = (PROD, PROD_P1, EnvironmentVisibilitySet(ORG, P1, ("production",), True))
    assert then(when(visibility("production"), environments=hidden)) == []
    kept = when(visibility("production", hidden=None), environments=hidden)
    assert then(kept) == [] and kept.result == {"production": True}


def test_showing_a_never_set_environment_records_false_as_sentry_stores_it() -> None:
    decision = when(visibility("production", hidden=False), environments=(PROD, PROD_P1))
    assert then(decision) == [EnvironmentVisibilitySet(ORG, P1, ("production",), False)]


def test_an_environment_the_project_does_not_have_is_not_found() -> None:
    other_project = EnvironmentProjectAdded(ORG, "staging", P2, None)
    for given in ((), (PROD,), (EnvironmentCreated(ORG, "staging"), other_project)):
        with pytest.raises(NotFound):
            when(visibility("production"), environments=given)
        with pytest.raises(NotFound):
            when(visibility("staging"), environments=given)


def test_bulk_leaves_out_names_the_project_does_not_have_and_changes_only_what_differs() -> None:
    given = (
        PROD,
        PROD_P1,
        EnvironmentCreated(ORG, "staging"),
        EnvironmentProjectAdded(ORG, "staging", P1, True),
        EnvironmentCreated(ORG, "dev"),
        EnvironmentProjectAdded(ORG, "dev", P2, None),
    )
    decision = when(visibility("staging", "production", "dev", "nope", "", bulk=True), environments=given)
    assert then(decision) == [EnvironmentVisibilitySet(ORG, P1, ("production",), True)]
    assert decision.result == {"production": True, "staging": True}
    assert then(when(visibility("nope", bulk=True), environments=given)) == []


def test_the_state_folds_visibility_of_its_own_project_only() -> None:
    state = EnvironmentsState.fold(
        [
            PROD,
            PROD_P1,
            EnvironmentProjectAdded(ORG, "production", P2, None),
            EnvironmentVisibilitySet(ORG, P2, ("production", "unknown"), True),
        ]
    )
    assert state.environments == {"production": {P1: None, P2: True}}
