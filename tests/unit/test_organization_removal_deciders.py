"""Given/when/then for an organization's removal (``DELETE``) and restore (``cancelDeletion``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from commands import Decision, NotFound, decide
from commands.base import State
from commands.organization_removal import RemoveOrganization
from commands.organization_settings import UpdateOrganization
from commands.organizations import OrganizationState
from events import Event
from events.organizations import (
    OrganizationCreated,
    OrganizationEdited,
    OrganizationRemoved,
    OrganizationRestored,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OID = 7
CREATED = OrganizationCreated(OID, "acme", "Acme")
# Organization.get_audit_log_data(): flags 1 is allow_joinleave, the one flag a new organization has
AUDIT = {"id": OID, "slug": "acme", "name": "Acme", "flags": 1, "default_role": "member"}


def org(*events: Event) -> OrganizationState:
    return OrganizationState.fold([CREATED, *events])


def when(command: Any, **states: State) -> Decision:
    return decide(command, NOW, states)


def then(decision: Decision) -> list[Event]:
    return [c.event for c in decision.changes]


def test_removal_makes_an_active_organization_pending_deletion() -> None:
    decision = when(RemoveOrganization(OID), organization=org())
    assert then(decision) == [OrganizationRemoved(OID, "acme", {**AUDIT, "status": 1})]
    assert decision.result.status == "pending_deletion"


def test_a_second_removal_changes_nothing() -> None:
    pending = org(OrganizationRemoved(OID, "acme", {**AUDIT, "status": 1}))
    decision = when(RemoveOrganization(OID), organization=pending)
    assert then(decision) == [] and decision.result.status == "pending_deletion"


def test_removal_of_a_missing_organization_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(RemoveOrganization(OID), organization=OrganizationState())


def test_cancel_deletion_restores_and_audits_the_restore_instead_of_the_edit() -> None:
    pending = org(OrganizationRemoved(OID, "acme", {**AUDIT, "status": 1}))
    command = UpdateOrganization(OID, values=(("dataScrubber", True),), cancel_deletion=True)
    edited, restored = then(when(command, organization=pending))
    assert isinstance(edited, OrganizationEdited)
    assert edited.options == {"sentry:require_scrub_data": True} and edited.changes == {}
    assert restored == OrganizationRestored(OID, "acme", {**AUDIT, "status": 0})


def test_cancel_deletion_of_an_active_organization_is_nothing() -> None:
    assert then(when(UpdateOrganization(OID, cancel_deletion=True), organization=org())) == []


def test_audit_flags_are_sentrys_bit_field() -> None:
    flags = {"allow_joinleave": False, "codecov_access": True, "disable_member_invite": True}
    edited = OrganizationEdited(OID, "acme", "Acme", "acme", {}, (), flags, "member", {})
    [removed] = then(when(RemoveOrganization(OID), organization=org(edited)))
    assert isinstance(removed, OrganizationRemoved)
    assert removed.audit["flags"] == (1 << 7) | (1 << 10)
