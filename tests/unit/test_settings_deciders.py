"""Organization, project and key deciders: given events / when a command / then events
(sentry-behaviour 5.4, 5.5, 7.3, 8.1-8.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from commands import Conflict, Decision, NotFound, decide
from commands.base import FieldErrors, IdCollision, State
from commands.organization_settings import UpdateOrganization
from commands.organizations import CreateProject, OrganizationRegistry, OrganizationState, _ProjectExistence
from commands.project_keys import CreateProjectKey, DeleteProjectKey, NewKey, Reservation, UpdateProjectKey
from commands.project_settings import DeleteProject, UpdateProject
from commands.projects import ProjectState
from events import Event
from events.organizations import (
    OrganizationCreated,
    OrganizationEdited,
    OrganizationSlugReleased,
    OrganizationSlugReserved,
    ProjectSlugReleased,
    ProjectSlugReserved,
)
from events.project_keys import (
    KEY_INACTIVE,
    ProjectKeyCreated,
    ProjectKeyRemoved,
    ProjectKeyReserved,
    ProjectKeyUpdated,
)
from events.projects import (
    ProjectCreated,
    ProjectOptionRemoved,
    ProjectOptionSet,
    ProjectRemoved,
    ProjectUpdated,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OID, PID = 7, 101
ORG = OrganizationCreated(OID, "acme", "Acme")
PROJECT = ProjectCreated(PID, OID, "web", "Web", "python")
KEY = NewKey(900, "a" * 32, "b" * 32)
SUFFIXES = ("xy", "zw", "abc")


def org(*events: Event) -> OrganizationState:
    return OrganizationState.fold([ORG, ProjectSlugReserved(OID, PID, "web"), *events])


def project(*events: Event) -> ProjectState:
    return ProjectState.fold([PROJECT, *events])


def when(command: Any, **states: State) -> Decision:
    return decide(command, NOW, states)


def then(decision: Decision) -> list[Event]:
    return [c.event for c in decision.changes]


def edited(decision: Decision) -> OrganizationEdited:
    [event] = [e for e in then(decision) if isinstance(e, OrganizationEdited)]
    return event


# -- organization settings (5.4) ------------------------------------------------------------


def test_first_store_differing_from_the_default_is_audited() -> None:
    event = edited(when(UpdateOrganization(OID, values=(("dataScrubber", True),)), organization=org()))
    assert event.options == {"sentry:require_scrub_data": True}
    assert event.changes == {"dataScrubber": "to True"}


def test_first_store_of_the_default_is_stored_but_not_audited() -> None:
    event = edited(when(UpdateOrganization(OID, values=(("scrapeJavaScript", True),)), organization=org()))
    assert event.options == {"sentry:scrape_javascript": True} and event.changes == {}


def test_a_stored_option_is_audited_from_and_to_and_unchanged_is_nothing() -> None:
    state = org(edited(when(UpdateOrganization(OID, values=(("storeCrashReports", 5),)), organization=org())))
    event = edited(when(UpdateOrganization(OID, values=(("storeCrashReports", -1),)), organization=state))
    assert event.changes == {"storeCrashReports": "from 5 to -1"}
    same = when(UpdateOrganization(OID, values=(("storeCrashReports", 5),)), organization=state)
    assert then(same) == [] and same.result.options["sentry:store_crash_reports"] == 5


def test_flags_name_and_order_of_changed_data() -> None:
    command = UpdateOrganization(
        OID,
        values=(("allowJoinRequests", False),),
        flags=(("allow_joinleave", False), ("early_adopter", True), ("enhanced_privacy", False)),
        name="New Name",
    )
    event = edited(when(command, organization=org()))
    assert list(event.changes.items()) == [
        ("allowJoinRequests", "to False"),
        ("name", "from Acme to New Name"),
        ("allow_joinleave", "to False"),
        ("early_adopter", "to True"),
    ]
    assert event.flags == {"allow_joinleave": False, "early_adopter": True}


def test_trusted_relays_are_stamped_and_kept() -> None:
    relay = {"public_key": "k1", "name": "edge", "description": None}
    first = edited(when(UpdateOrganization(OID, trusted_relays=(relay,)), organization=org()))
    [stored] = first.options["sentry:trusted-relays"]
    assert stored["created"] == stored["last_modified"] == NOW.isoformat()
    assert first.changes == {"trustedRelays": f"to {[stored]}"}
    state = org(first)
    assert then(when(UpdateOrganization(OID, trusted_relays=(relay,)), organization=state)) == []
    later = datetime(2026, 2, 1, tzinfo=UTC)
    renamed = decide(
        UpdateOrganization(OID, trusted_relays=({**relay, "description": "d"},)),
        later,
        {"organization": state},
    )
    [after] = edited(renamed).options["sentry:trusted-relays"]
    assert after["created"] == NOW.isoformat() and after["last_modified"] == later.isoformat()
    assert edited(renamed).changes["trustedRelays"].startswith(f"from {[stored]} to ")
    emptied = edited(when(UpdateOrganization(OID, trusted_relays=()), organization=state))
    assert emptied.options == {"sentry:trusted-relays": []}


def test_slug_moves_on_the_registry() -> None:
    registry = OrganizationRegistry.fold(
        [OrganizationSlugReserved(OID, "acme"), OrganizationSlugReserved(8, "taken")]
    )
    decision = when(UpdateOrganization(OID, slug="acme-two"), organization=org(), registry=registry)
    released, reserved, event = then(decision)
    assert released == OrganizationSlugReleased(OID, "acme") and reserved == OrganizationSlugReserved(
        OID, "acme-two"
    )
    assert (
        isinstance(event, OrganizationEdited) and event.slug == "acme-two" and event.previous_slug == "acme"
    )
    assert event.changes == {"slug": "from acme to acme-two"}
    with pytest.raises(FieldErrors) as taken:
        when(UpdateOrganization(OID, slug="taken"), organization=org(), registry=registry)
    assert taken.value.errors == {"slug": ['The slug "taken" is in use by another organization.']}
    with pytest.raises(FieldErrors) as upper:  # Sentry's slug reservation: lower case only
        when(UpdateOrganization(OID, slug="Acme-Two"), organization=org(), registry=registry)
    assert upper.value.errors == {"slug": ['The slug "Acme-Two" is in use by another organization.']}


def test_sampling_mode_rules() -> None:
    with pytest.raises(FieldErrors) as refused:
        when(
            UpdateOrganization(OID, values=(("samplingMode", "project"), ("targetSampleRate", 0.5))),
            organization=org(),
        )
    assert refused.value.errors == {
        "non_field_errors": ["Must be in Automatic Mode to configure the organization sample rate."]
    }
    state = org(
        edited(when(UpdateOrganization(OID, values=(("targetSampleRate", 0.5),)), organization=org()))
    )
    advanced = edited(
        when(
            UpdateOrganization(OID, values=(("samplingMode", "project"),), dynamic_sampling=True),
            organization=state,
        )
    )
    assert advanced.changes == {"samplingMode": "to Advanced Mode"}
    assert advanced.removed_options == ("sentry:target_sample_rate",)


def test_a_missing_organization_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(UpdateOrganization(OID), organization=OrganizationState())


# -- projects (8.1, 8.2) --------------------------------------------------------------------


def create(name: str, state: OrganizationState, **kwargs: Any) -> Decision:
    command = CreateProject(OID, 555, name, None, SUFFIXES, "f" * 12, **kwargs)
    reservations = {}
    if command.default_key:
        reservations = {"key_id_reservation": Reservation(), "public_key_reservation": Reservation()}
    return when(command, organization=state, existing=_ProjectExistence(), **reservations)


def test_create_reserves_the_slug_and_makes_the_default_key() -> None:
    events = then(create("Web", org(), default_key=KEY))
    assert events[0] == ProjectSlugReserved(OID, 555, "web-xy")
    assert isinstance(events[1], ProjectCreated) and events[1].slug == "web-xy"
    key = events[2]
    assert isinstance(key, ProjectKeyCreated) and key.label == "Default" and key.automatic
    assert key.public_key == KEY.public_key and key.date_created == NOW.isoformat()
    assert events[3] == events[4] == ProjectKeyReserved(900, KEY.public_key, 555, OID)


def test_explicit_slug_taken_is_a_conflict() -> None:
    assert then(create("Anything", org(), slug="mine"))[0] == ProjectSlugReserved(OID, 555, "mine")
    with pytest.raises(Conflict, match=r"A project with this slug already exists\."):
        create("Anything", org(), slug="web")


def test_a_used_project_id_is_a_collision_to_retry() -> None:
    with pytest.raises(IdCollision):
        when(
            CreateProject(OID, PID, "x", None, SUFFIXES, "f" * 12),
            organization=org(),
            existing=_ProjectExistence(created=True),
        )


def test_update_moves_the_slug_and_records_sentrys_audit_data() -> None:
    decision = when(
        UpdateProject(PID, OID, name="Web 2", slug="web-2"), project=project(), organization=org()
    )
    released, reserved, updated = then(decision)
    assert released == ProjectSlugReleased(OID, PID, "web") and reserved == ProjectSlugReserved(
        OID, PID, "web-2"
    )
    assert isinstance(updated, ProjectUpdated) and updated.changes == {
        "new_slug": "web-2", "old_slug": "web", "new_project": "Web 2",
        "id": PID, "slug": "web-2", "name": "Web 2", "status": 0, "public": False,
    }  # fmt: skip


def test_update_options_and_slug_taken() -> None:
    """Known keys are stored normalized; other keys are ignored as Sentry ignores them, but
    ``None`` still removes one an earlier version stored."""
    state = project(ProjectOptionSet(PID, OID, "sentry:a", 1))
    options = (
        ("sentry:a", None),
        ("sentry:b", [1]),
        ("sentry:c", None),
        ("sentry:origins", " A.com\n\nb.com "),
        ("filters:blacklisted_ips", "10.0.0.1\n"),
    )
    decision = when(UpdateProject(PID, OID, options=options), project=state, organization=org())
    assert then(decision) == [
        ProjectOptionRemoved(PID, OID, "sentry:a"),
        ProjectOptionSet(PID, OID, "sentry:origins", ["a.com", "b.com"]),
        ProjectOptionSet(PID, OID, "sentry:blacklisted_ips", ["10.0.0.1"]),
    ]
    taken = org(ProjectSlugReserved(OID, 202, "api"))
    with pytest.raises(FieldErrors):
        when(UpdateProject(PID, OID, slug="api"), project=project(), organization=taken)
    with pytest.raises(FieldErrors):
        when(UpdateProject(PID, OID, slug="settings"), project=project(), organization=org())
    assert then(when(UpdateProject(PID, OID, name="Web"), project=project(), organization=org())) == []


def test_update_top_level_settings_become_options() -> None:
    """Sentry's ``ProjectAdminSerializer`` fields: stored under their option keys, ``None``
    removes where Sentry deletes, ``resolveAge`` ``None`` is 0, empty origins dropped; the
    ``options`` dict is applied after them."""
    state = project(ProjectOptionSet(PID, OID, "sentry:store_crash_reports", 5))
    settings = (
        ("allowedDomains", ["a.com", "", "*"]),
        ("securityTokenHeader", "X-Token"),
        ("storeCrashReports", None),
        ("resolveAge", None),
        ("digestsMaxDelay", 0),  # falsy: Sentry skips it
        ("verifySSL", True),
    )
    options = (("sentry:origins", "b.com"),)
    decision = when(
        UpdateProject(PID, OID, settings=settings, options=options), project=state, organization=org()
    )
    assert then(decision) == [
        ProjectOptionSet(PID, OID, "sentry:origins", ["b.com"]),
        ProjectOptionSet(PID, OID, "sentry:token_header", "X-Token"),
        ProjectOptionRemoved(PID, OID, "sentry:store_crash_reports"),
        ProjectOptionSet(PID, OID, "sentry:resolve_age", 0),
        ProjectOptionSet(PID, OID, "sentry:verify_ssl", True),
    ]


@pytest.mark.parametrize(
    ("given", "settings", "field"),
    [
        ((), (("allowedDomains", ["", ""]),), "allowedDomains"),
        ((), (("groupingConfig", None),), "groupingConfig"),
        ((), (("sensitiveFields", ["x" * 4001]),), "sensitiveFields"),
        (
            (ProjectOptionSet(PID, OID, "digests:mail:minimum_delay", 120),),
            (("digestsMaxDelay", 100),),
            "digestsMinDelay",
        ),
        ((), (("digestsMinDelay", 600), ("digestsMaxDelay", 300)), "digestsMinDelay"),
        ((), (("debugFilesRole", "root"),), "debugFilesRole"),
    ],
)
def test_update_top_level_settings_refused(given: tuple[Event, ...], settings: Any, field: str) -> None:
    with pytest.raises(FieldErrors) as refused:
        when(UpdateProject(PID, OID, settings=settings), project=project(*given), organization=org())
    assert list(refused.value.errors) == [field]


def test_delete_frees_the_slug_and_names_the_keys() -> None:
    key = ProjectKeyCreated(PID, OID, 900, "k" * 32, "s" * 32, "Default", 0, None, None)
    decision = when(DeleteProject(PID, OID, "r" * 32), project=project(key), organization=org())
    released, removed = then(decision)
    assert released == ProjectSlugReleased(OID, PID, "web")
    assert removed == ProjectRemoved(PID, OID, "web", "Web", "r" * 32, ("k" * 32,))
    with pytest.raises(NotFound):  # pending deletion looks missing
        when(DeleteProject(PID, OID, "x"), project=project(key, removed), organization=org())


# -- keys (8.3) -----------------------------------------------------------------------------


def test_key_lifecycle() -> None:
    created = then(
        when(
            CreateProjectKey(PID, KEY, "Backend", (10, 60)),
            project=project(),
            key_id_reservation=Reservation(),
            public_key_reservation=Reservation(),
        )
    )[0]
    assert isinstance(created, ProjectKeyCreated) and not created.automatic
    assert (created.rate_limit_count, created.rate_limit_window) == (10, 60)
    state = project(created)
    [updated] = then(
        when(UpdateProjectKey(PID, KEY.public_key, is_active=False, rate_limit=(None, None)), project=state)
    )
    assert isinstance(updated, ProjectKeyUpdated) and updated.status == KEY_INACTIVE
    assert updated.rate_limit_count is None and updated.date_created == created.date_created
    assert then(when(UpdateProjectKey(PID, KEY.public_key, label="Backend"), project=state)) == []
    [removed] = then(when(DeleteProjectKey(PID, KEY.public_key), project=project(created, updated)))
    assert isinstance(removed, ProjectKeyRemoved)
    with pytest.raises(NotFound):
        when(DeleteProjectKey(PID, KEY.public_key), project=project(created, updated, removed))


def new_key(rate_limit: tuple[int | None, int | None] = (None, None)) -> ProjectKeyCreated:
    created = then(
        when(
            CreateProjectKey(PID, KEY, "Backend", rate_limit),
            project=project(),
            key_id_reservation=Reservation(),
            public_key_reservation=Reservation(),
        )
    )[0]
    assert isinstance(created, ProjectKeyCreated)
    return created


def test_a_new_key_stores_the_loader_defaults_and_updates_merge_into_them() -> None:
    created = new_key()
    assert created.loader_options == ("hasReplay", "hasPerformance") and created.browser_sdk_version is None
    change = (("hasReplay", False), ("hasDebug", True), ("invalid-key", "blah"))
    [updated] = then(
        when(UpdateProjectKey(PID, KEY.public_key, loader_options=change), project=project(created))
    )
    assert isinstance(updated, ProjectKeyUpdated)
    assert updated.loader_options == ("hasPerformance", "hasDebug") and updated.browser_sdk_version is None
    [pinned] = then(
        when(UpdateProjectKey(PID, KEY.public_key, browser_sdk_version="5.x"), project=project(created))
    )
    assert isinstance(pinned, ProjectKeyUpdated) and pinned.browser_sdk_version == "5.x"
    # Options that are already so, and no version (the project's default): nothing to append.
    same = UpdateProjectKey(PID, KEY.public_key, loader_options=(("hasReplay", True), ("unknown", 1)))
    assert then(when(same, project=project(created))) == []


@pytest.mark.parametrize(
    ("command", "errors"),
    [
        (
            UpdateProjectKey(PID, KEY.public_key, loader_options=(("hasReplay", "true"),)),
            {"dynamicSdkLoaderOptions": {"hasReplay": ["Must be a valid boolean."]}},
        ),
        (
            UpdateProjectKey(PID, KEY.public_key, browser_sdk_version="3.x"),
            {"browserSdkVersion": ['"3.x" is not a valid choice.']},
        ),
    ],
)
def test_a_key_update_refuses_values_that_are_not_their_type(
    command: UpdateProjectKey, errors: dict[str, Any]
) -> None:
    with pytest.raises(FieldErrors) as refused:
        when(command, project=project(new_key()))
    assert refused.value.errors == errors


def test_a_key_update_records_the_rate_limit_before_it() -> None:
    created = new_key((10, 60))
    [updated] = then(
        when(UpdateProjectKey(PID, KEY.public_key, rate_limit=(20, 60)), project=project(created))
    )
    assert isinstance(updated, ProjectKeyUpdated)
    assert (updated.prev_rate_limit_count, updated.prev_rate_limit_window) == (10, 60)
    assert (updated.rate_limit_count, updated.rate_limit_window) == (20, 60)


def test_taken_key_id_and_public_key() -> None:
    taken = Reservation(taken=True)
    with pytest.raises(IdCollision):
        when(
            CreateProjectKey(PID, KEY, "k"),
            project=project(),
            key_id_reservation=taken,
            public_key_reservation=Reservation(),
        )
    with pytest.raises(Conflict, match=r"A key with this public key already exists\."):
        when(
            CreateProjectKey(PID, KEY, "k"),
            project=project(),
            key_id_reservation=Reservation(),
            public_key_reservation=taken,
        )


NOT_A_LIST = 'Expected a list of items but got type "int".'
TOO_BIG = "Ensure this value is less than or equal to"


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        ((("sentry:origins", 5),), {"sentry:origins": [NOT_A_LIST]}),
        ((("sentry:safe_fields", 7),), {"sentry:safe_fields": [NOT_A_LIST]}),
        ((("sentry:resolve_age", 2**70),), {"sentry:resolve_age": [f"{TOO_BIG} 2147483647."]}),
    ],
)  # fmt: skip
def test_the_decider_refuses_an_option_value_that_is_not_its_type(
    options: tuple[tuple[str, Any], ...], errors: dict[str, list[str]]
) -> None:
    """Whoever sends the command (HTTP, the CLI, a benchmark), no event holds such a value."""
    with pytest.raises(FieldErrors) as raised:
        when(UpdateProject(PID, OID, options=options), project=project(), organization=org())
    assert raised.value.errors == {"options": errors}


RESERVATIONS: dict[str, State] = {
    "key_id_reservation": Reservation(),
    "public_key_reservation": Reservation(),
}


@pytest.mark.parametrize("rate_limit", [(2**70, 60), (10, 86401), (-1, 60), (True, 60)])
def test_the_decider_refuses_a_rate_limit_beyond_its_columns(rate_limit: tuple[Any, Any]) -> None:
    with pytest.raises(FieldErrors):
        when(CreateProjectKey(PID, KEY, "k", rate_limit), project=project(), **RESERVATIONS)
    state = project(*then(when(CreateProjectKey(PID, KEY, "k"), project=project(), **RESERVATIONS)))
    with pytest.raises(FieldErrors):
        when(UpdateProjectKey(PID, KEY.public_key, rate_limit=rate_limit), project=state)
