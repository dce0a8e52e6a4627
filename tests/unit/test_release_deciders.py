"""Release deciders: given events / when a command / then events (sentry-behaviour 4.4-4.10),
and the commit message references of ``utils/groupreference.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from commands import Decision, NotFound, decide
from commands.base import FieldErrors
from commands.environments import EnvironmentsState
from commands.groupreference import (
    base32_decode,
    base32_encode,
    issue_url_references,
    references,
    references_in,
    short_id_references,
)
from commands.groups import GroupState
from commands.release_commits import CommitsInput, RepositoriesState, author_email_of
from commands.releases import (
    CreateDeploy,
    CreateRelease,
    ReleaseChanges,
    ReleaseState,
    SetCommits,
    UpdateRelease,
)
from events import Event
from events.groups import GroupCreated, GroupResolvedInCommit, GroupResolvedInRelease
from events.releases import (
    DeployCreated,
    ReleaseCommitsRecorded,
    ReleaseCommitsSet,
    ReleaseCreated,
    ReleaseHeadCommitsSet,
    ReleaseProjectsAdded,
    ReleaseUpdated,
    RepositoryAdded,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORG, RID, P1, P2 = 7, 1001, 11, 12
CREATED = ReleaseCreated(RID, ORG, "1.0", NOW.isoformat(), None, None, None, None, "open", "")
LINKED = ReleaseProjectsAdded(RID, ORG, "1.0", (P1,), (), None)
REPO = RepositoryAdded(55, ORG, "acme/app", "git", "file:///srv/app", {"path": "/srv/app"})


def when(
    command: Any, release: tuple[Event, ...] = (), repos: tuple[Event, ...] = (), **groups: GroupState
) -> Decision:
    states = {"release": ReleaseState.fold(release), "repos": RepositoriesState.fold(repos), **groups}
    return decide(command, NOW, states)  # type: ignore[arg-type]


def then(decision: Decision) -> list[Event]:
    return [c.event for c in decision.changes]


def create(version: str = "1.0", projects: tuple[int, ...] = (P1,), **changes: Any) -> CreateRelease:
    return CreateRelease(ORG, version, RID, projects, ReleaseChanges(**changes))


def test_a_new_release_is_created_and_linked() -> None:
    decision = when(create())
    assert then(decision) == [CREATED, LINKED]
    assert decision.result["status"] == 201


def test_the_same_project_again_is_208_and_changes_nothing() -> None:
    decision = when(create(), (CREATED, LINKED))
    assert then(decision) == [] and decision.result["status"] == 208


def test_a_new_project_links_with_201_and_release_activity_when_released() -> None:
    released = ReleaseUpdated(RID, ORG, "1.0", None, None, "2026-01-01T00:00:00+00:00", "open", ())
    decision = when(create(projects=(P1, P2)), (CREATED, LINKED, released))
    assert then(decision) == [
        ReleaseProjectsAdded(RID, ORG, "1.0", (P2,), (P2,), "2026-01-01T00:00:00+00:00")
    ]
    assert decision.result["status"] == 201


def test_project_level_activity_only_for_a_release_not_released_before() -> None:
    new = when(
        CreateRelease(ORG, "1.0", RID, (P1,), ReleaseChanges(date_released="2026-01-01"), project_level=True)
    )
    assert then(new)[1] == ReleaseProjectsAdded(RID, ORG, "1.0", (P1,), (P1,), "2026-01-01")


def test_archiving_an_existing_release_updates_its_status_with_208() -> None:
    decision = when(create(projects=(), status="archived"), (CREATED, LINKED))
    assert then(decision) == [ReleaseUpdated(RID, ORG, "1.0", None, None, None, "archived", ())]
    assert decision.result["status"] == 208


@pytest.mark.parametrize("version", ["", "   ", "a/b", "latest", ".", "x" * 201])
def test_invalid_versions_decide_nothing(version: str) -> None:
    with pytest.raises(FieldErrors):
        when(create(version))


def test_updating_a_missing_release_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(UpdateRelease(ORG, "1.0", ReleaseChanges(ref="x")))


def commit(sha: str, ts: str | None = None, **data: Any) -> dict[str, Any]:
    return {"id": sha, **({"timestamp": ts} if ts else {}), **data}


def test_set_commits_orders_skips_derives_authors_and_creates_repositories() -> None:
    commits = CommitsInput(
        (
            commit("a", "2024-01-01T00:00:00+00:00", repository="acme/app", author_name="Dev One"),
            commit("b", "2024-02-01T00:00:00+00:00", repository="acme/new", message="x #skipsentry"),
            commit("c", "2024-03-01T00:00:00+00:00", repository="acme/new", author_email="Me@X.io"),
            commit("d", message="undated"),
        ),
        repository_ids=(90, 91),
    )
    events = then(when(SetCommits(ORG, "1.0", commits), (CREATED, LINKED), (REPO,)))
    assert events[:2] == [
        RepositoryAdded(90, ORG, "acme/new", None, None, {}),
        RepositoryAdded(91, ORG, f"organization-{ORG}", None, None, {}),
    ]
    summary, recorded = events[2], events[3]
    assert isinstance(summary, ReleaseCommitsSet) and isinstance(recorded, ReleaseCommitsRecorded)
    assert recorded.ids == ("c", "a", "d")
    assert summary.commit_count == 3 and summary.last_commit and summary.last_commit["id"] == "c"
    assert summary.authors == (
        {"name": None, "email": "me@x.io"},
        {"name": "Dev One", "email": "devone@localhost"},
    )
    assert summary.head_commits == {"90": "c", "55": "a", "91": "d"}
    assert recorded.unsent_messages == (0, 1) and recorded.messages[2] == "undated"


def test_author_emails_as_sentry_derives_them() -> None:
    assert author_email_of({"author_name": "Jane Q. Doe!"}) == "janeq.doe@localhost"
    assert author_email_of({"author_name": "x" * 80}) == ("x" * 72 + "...")
    assert author_email_of({"author_email": "A@B.C"}) == "a@b.c"
    assert author_email_of({}) is None


GROUP = GroupState.fold([GroupCreated(500, P1, ORG, 1, "Boom", None, None)])


def test_fixes_resolves_in_the_commit_then_in_the_release_once() -> None:
    commits = CommitsInput(
        (commit("a", message="Fixes WEB-1", repository="acme/app"),), group_refs=(("WEB-1", 500),)
    )
    events = then(when(SetCommits(ORG, "1.0", commits), (CREATED, LINKED), (REPO,), group_500=GROUP))
    assert events[-2:] == [
        GroupResolvedInCommit(500, P1, ORG, 55, "acme/app", "a"),
        GroupResolvedInRelease(500, P1, ORG, RID, "1.0"),
    ]
    resolved = GROUP.evolve(events[-2]).evolve(events[-1])
    again = then(when(SetCommits(ORG, "1.0", commits), (CREATED, LINKED), (REPO,), group_500=resolved))
    assert not any(isinstance(e, GroupResolvedInCommit | GroupResolvedInRelease) for e in again)


def test_a_group_of_another_organization_is_never_resolved() -> None:
    foreign = GroupState.fold([GroupCreated(501, P1, ORG + 1, 1, "Boom", None, None)])
    commits = CommitsInput((commit("a", message="Fixes WEB-1"),), (90,), group_refs=(("WEB-1", 501),))
    events = then(when(SetCommits(ORG, "1.0", commits), (CREATED, LINKED), group_501=foreign))
    assert not any(isinstance(e, GroupResolvedInCommit) for e in events)


def test_refs_need_known_repositories_and_split_ranges() -> None:
    with pytest.raises(FieldErrors) as refused:
        when(
            UpdateRelease(ORG, "1.0", ReleaseChanges(refs=({"repository": "no/pe", "commit": "a"},))),
            (CREATED,),
        )
    assert refused.value.errors == {"refs": ["Invalid repository names: no/pe"]}
    refs = ({"repository": "acme/app", "commit": "a..b"},)
    events = then(when(UpdateRelease(ORG, "1.0", ReleaseChanges(refs=refs, user_id=3)), (CREATED,), (REPO,)))
    assert events == [
        ReleaseHeadCommitsSet(
            RID,
            ORG,
            "1.0",
            {"55": "b"},
            ({"repository": "acme/app", "commit": "b", "previousCommit": "a"},),
            True,
            3,
        )
    ]


def test_a_deploy_needs_the_release() -> None:
    with pytest.raises(NotFound):
        decide(
            CreateDeploy(ORG, "1.0", 9, "production", None, None, None, None, None),
            NOW,
            {"release": ReleaseState(), "environments": EnvironmentsState()},
        )
    decision = decide(
        CreateDeploy(ORG, "1.0", 9, "production", None, None, None, None, None),
        NOW,
        {"release": ReleaseState.fold([CREATED, LINKED]), "environments": EnvironmentsState()},
    )
    assert (
        decision.result["environment"] == "production" and decision.result["dateFinished"] == NOW.isoformat()
    )


def test_a_deploy_to_projects_not_on_the_release_is_refused_in_sentrys_shape() -> None:
    given = {"release": ReleaseState.fold([CREATED, LINKED]), "environments": EnvironmentsState()}
    with pytest.raises(FieldErrors) as refused:
        decide(CreateDeploy(ORG, "1.0", 9, "prod", None, None, None, None, (P1, P2), ("a", "b")), NOW, given)
    assert refused.value.errors == {
        "detail": {
            "code": "parameter-validation-error",
            "message": "Invalid projects (b) for release 1.0",
            "extra": {"context": ""},
        }
    }
    decision = decide(
        CreateDeploy(ORG, "1.0", 9, "prod", None, None, None, None, (P1, P1), ("a", "a")), NOW, given
    )
    deploys = [c.event for c in decision.changes if isinstance(c.event, DeployCreated)]
    assert [d.project_ids for d in deploys] == [(P1,)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (None, []),
        ("", []),
        ("Mentions PROJ-1 without a keyword", []),
        ("Fixes PROJ-1", ["PROJ-1"]),
        ("Fixes: PROJ-1", ["PROJ-1"]),
        ("Fixes [PROJ-1](https://sentry.example/issues/1/)", ["PROJ-1"]),
        *(
            (f"{kw} proj-1a", ["PROJ-1A"])
            for kw in ("Fix", "Fixes", "Fixed", "Close", "Closes", "Closed", "Resolves")
        ),
        ("Fixes PROJ-1, PROJ-2", ["PROJ-1", "PROJ-2"]),
        ("Intro\nFixes PROJ-1\nOutro", ["PROJ-1"]),
    ],
)
def test_short_id_references(text: str | None, found: list[str]) -> None:
    assert short_id_references(text) == found


def test_issue_url_references_on_our_host_only() -> None:
    prefix = "http://127.0.0.1:8000"
    assert references("Fixes http://127.0.0.1:8000/organizations/a/issues/42/", prefix) == ["#42"]
    assert references("Fixes https://github.com/issues/42/", prefix) == []
    assert references(f"Fixes http://127.0.0.1:8000/issues/{2**63}/", prefix) == []


def test_base32_short_ids_round_trip() -> None:
    assert [base32_encode(n) for n in (0, 1, 31, 32, 1000)] == ["0", "1", "Z", "10", "Z8"]
    assert base32_decode("z8") == 1000 and base32_decode("O") == 0 and base32_decode("L") == 1


@pytest.mark.parametrize(
    "text",
    [
        "Mentions PROJ-1 without a keyword",
        "fixes proj-1",
        "RESOLVED PROJ-1",
        "[Fi](https://x.example/)xes PROJ-1",  # the link's removal makes the keyword
        "Closes [PROJ-1](https://sentry.example/issues/1/) and Fixes http://127.0.0.1:8000/issues/7/",
        "Resolveś PROJ-1",
    ],
)
def test_references_skip_no_message_that_has_one(text: str) -> None:
    """``references`` looks for the fix keywords first; what it finds is what the full scan finds."""
    prefix = "http://127.0.0.1:8000"
    full = [*short_id_references(text), *(f"#{i}" for i in issue_url_references(text, prefix))]
    assert references(text, prefix) == full
    assert references("[Fi](https://x.example/)xes PROJ-1", prefix) == ["PROJ-1"]


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [None, "", "nothing to see"],
        ["Mentions PROJ-1 without a keyword", "fixes proj-1", None],
        ["a message", "[Fi](https://x.example/)xes PROJ-1"],
        ["Fix", "PROJ-2"],  # a keyword and an id in two messages are no reference
        ["\ufb01xes PROJ-3", "clo\u017fes PROJ-4", "Resolve\u015b PROJ-5", "ascii"],  # not ASCII: the pattern
        ["Closes [PROJ-1](https://sentry.example/issues/1/)", "Fixes http://127.0.0.1:8000/issues/7/"],
    ],
)
def test_references_in_a_list_are_those_of_each_message(texts: list[str | None]) -> None:
    prefix = "http://127.0.0.1:8000"
    assert references_in(texts, prefix) == {ref for text in texts for ref in references(text, prefix)}
