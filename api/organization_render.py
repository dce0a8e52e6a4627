"""The organization's details, shaped like Sentry's ``DetailedOrganizationSerializerWithProjectsAndTeams``
(the fields this server has a source for), from stored options and flags plus Sentry's defaults."""

from __future__ import annotations

from typing import Any

from api.project_render import iso
from commands.org_options import (
    FLAG_DEFAULTS,
    ORG_OPTIONS,
    ROLES,
    TRUSTED_RELAYS_OPTION,
    convert_crashreport_count,
    option_value,
)
from commands.organization_settings import GRANULAR_REPLAY_OPTION

CUSTOM_DYNAMIC_SAMPLING = "organizations:dynamic-sampling-custom"
TRUSTED_ONLY_FEATURE = "organizations:ingest-through-trusted-relays-only"
# ``OrganizationStatus``: the id is the member's name, the name its label.
STATUS_NAMES = {"active": "active", "pending_deletion": "pending deletion"}
# What Sentry's base ``OrganizationSerializer`` shows (to a token without ``org:read``); the
# detailed serializers add the settings, teams and projects.
SUMMARY_KEYS = (
    "id", "slug", "status", "name", "dateCreated", "isEarlyAdopter", "require2FA",
    "requireEmailVerification", "avatar", "allowMemberInvite", "allowMemberProjectCreation",
    "allowSuperuserAccess", "links", "hasAuthProvider", "features", "access",
)  # fmt: skip


def _trusted_relay(item: dict[str, Any]) -> dict[str, Any]:
    """``_relay_internal_to_external``: optional keys only when set."""
    body = {"name": item["name"], "publicKey": item["public_key"]}
    for internal, external in (
        ("description", "description"),
        ("created", "created"),
        ("last_modified", "lastModified"),
    ):
        if item.get(internal) is not None:
            body[external] = item[internal]
    return body


def _option_fields(options: dict[str, Any], features: frozenset[str]) -> dict[str, Any]:
    body = {spec.field: option_value(options, spec.field) for spec in ORG_OPTIONS}
    if CUSTOM_DYNAMIC_SAMPLING not in features:  # Sentry shows these only with the feature
        del body["targetSampleRate"], body["samplingMode"]
    if TRUSTED_ONLY_FEATURE not in features:
        del body["ingestThroughTrustedRelaysOnly"]
    body["sensitiveFields"] = body["sensitiveFields"] or []
    body["safeFields"] = body["safeFields"] or []
    body["storeCrashReports"] = convert_crashreport_count(options.get("sentry:store_crash_reports"))
    body["relayPiiConfig"] = str(options.get("sentry:relay_pii_config") or "") or None
    return body


def organization_details(
    *,
    organization_id: int,
    slug: str,
    name: str,
    date_created: str,
    options: dict[str, Any],
    flags: dict[str, bool],
    default_role: str,
    features: frozenset[str],
    scopes: tuple[str, ...],
    projects: list[dict[str, Any]],
    url_prefix: str,
    status: str = "active",
    detailed: bool = True,
) -> dict[str, Any]:
    """``detailed=False``: Sentry's base ``OrganizationSerializer`` (no settings, teams or projects)."""
    flags = {**FLAG_DEFAULTS, **flags}
    feature_set = {f.removeprefix("organizations:") for f in features if f.startswith("organizations:")}
    if flags["allow_joinleave"]:
        feature_set.add("open-membership")
    if not flags["disable_shared_issues"]:
        feature_set.add("shared-issues")
    body = {
        "id": str(organization_id),
        "slug": slug,
        "status": {"id": status, "name": STATUS_NAMES.get(status, status)},
        "name": name or slug,
        "dateCreated": iso(date_created),
        "isEarlyAdopter": flags["early_adopter"],
        "require2FA": flags["require_2fa"],
        "requireEmailVerification": False,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
        "allowMemberInvite": not flags["disable_member_invite"],
        "allowMemberProjectCreation": not flags["disable_member_project_creation"],
        "allowSuperuserAccess": not flags["prevent_superuser_access"],
        "links": {
            "organizationUrl": f"{url_prefix.rstrip('/')}/organizations/{slug}/",
            "regionUrl": url_prefix,
        },
        "hasAuthProvider": False,
        "features": sorted(feature_set),
        "isDefault": False,
        "defaultRole": default_role,
        "availableRoles": [{"id": r, "name": r.title()} for r in ROLES],
        "openMembership": flags["allow_joinleave"],
        "allowSharedIssues": not flags["disable_shared_issues"],
        "enhancedPrivacy": flags["enhanced_privacy"],
        "codecovAccess": flags["codecov_access"],
        **_option_fields(options, features),
        "hasGranularReplayPermissions": bool(options.get(GRANULAR_REPLAY_OPTION, False)),
        "replayAccessMembers": [],  # member user ids; tokens name no users
        "trustedRelays": [_trusted_relay(r) for r in options.get(TRUSTED_RELAYS_OPTION) or []],
        "pendingAccessRequests": 0,
        "access": list(scopes),
        "teams": [],
        "projects": projects,
    }
    return body if detailed else {key: body[key] for key in SUMMARY_KEYS}
