"""``DELETE /organizations/{org}/``: the organization becomes pending deletion (Sentry's
``organization_service.delete_organization``); ``cancelDeletion`` restores it (see
``organization_settings``). Nothing is erased: eventry keeps the organization, as Sentry does
until its scheduled deletion runs, and shows it as ``pending_deletion``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.base import Change, Command, Decision, NotFound, handles
from commands.organizations import ACTIVE, PENDING_DELETION, OrganizationState
from events import streams
from events.organizations import OrganizationRemoved

# Sentry's ``OrganizationStatus`` values and the bits of ``Organization.flags`` (its BitField order).
STATUS_IDS = {ACTIVE: 0, PENDING_DELETION: 1}
FLAG_BITS = (
    "allow_joinleave", "enhanced_privacy", "disable_shared_issues", "early_adopter", "require_2fa",
    "disable_new_visibility_features", "require_email_verification", "codecov_access",
    "disable_member_project_creation", "prevent_superuser_access", "disable_member_invite",
)  # fmt: skip


def audit_data(org: OrganizationState, status: str) -> dict[str, Any]:
    """``Organization.get_audit_log_data()`` with the organization in ``status``."""
    flags = sum(1 << bit for bit, name in enumerate(FLAG_BITS) if org.flags.get(name))
    return {
        "id": org.organization_id,
        "slug": org.slug,
        "name": org.name,
        "status": STATUS_IDS[status],
        "flags": flags,
        "default_role": org.default_role,
    }


@dataclass(frozen=True)
class RemoveOrganization(Command):
    organization_id: int


@handles(
    RemoveOrganization,
    reads=lambda c: {"organization": (streams.organization(c.organization_id), OrganizationState)},
)
def remove_organization(cmd: RemoveOrganization, now: datetime, organization: OrganizationState) -> Decision:
    """Only an active organization changes (and is audited); a second DELETE is a no-op that
    still answers 202, as Sentry's does."""
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    if organization.status != ACTIVE:
        return Decision(result=organization)
    removed = OrganizationRemoved(
        cmd.organization_id, organization.slug, audit_data(organization, PENDING_DELETION)
    )
    return Decision(
        changes=(Change(streams.organization(cmd.organization_id), removed),),
        result=organization.evolve(removed),
    )
