"""``PUT /organizations/{org}/``: options, trusted relays, flags, name, slug and default role,
saved and audited as Sentry's ``OrganizationSerializer.save`` does (sentry-behaviour 5.4, 5.5).

The HTTP layer validates each field; this decides what changes given the organization's state:
what gets stored, the audit ``changed_data`` ("to X" / "from X to Y"), and the slug move on
the registry stream (released and reserved in the same append, so two renames cannot both win).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.base import Change, Command, Decision, FieldErrors, NotFound, handles
from commands.org_options import (
    FLAG_DEFAULTS,
    ORG_OPTIONS,
    SAMPLING_MODE_OPTION,
    SAMPLING_MODE_ORGANIZATION,
    SAMPLING_MODE_PROJECT,
    TARGET_SAMPLE_RATE_OPTION,
    TRUSTED_RELAYS_OPTION,
    merge_trusted_relays,
)
from commands.organization_removal import audit_data
from commands.organizations import ACTIVE, PENDING_DELETION, OrganizationRegistry, OrganizationState
from events import streams
from events.option_registry import OptionError, trusted_relays
from events.organizations import (
    OrganizationEdited,
    OrganizationRestored,
    OrganizationSlugReleased,
    OrganizationSlugReserved,
)

GRANULAR_REPLAY_OPTION = "sentry:granular-replay-permissions"
AUTOMATIC_MODE_ONLY = "Must be in Automatic Mode to configure the organization sample rate."


@dataclass(frozen=True)
class UpdateOrganization(Command):
    """Validated request fields. ``values``: ORG_OPTIONS fields present; ``flags``: API flag
    fields resolved to (flag name, value); ``dynamic_sampling``: the organization has custom
    dynamic sampling and the caller may use it (Sentry then adjusts the sampling options);
    ``cancel_deletion``: an owner's ``cancelDeletion`` (restores a pending-deletion organization)."""

    organization_id: int
    values: tuple[tuple[str, Any], ...] = ()
    trusted_relays: tuple[dict[str, Any], ...] | None = None
    flags: tuple[tuple[str, bool], ...] = ()
    name: str | None = None
    slug: str | None = None
    default_role: str | None = None
    dynamic_sampling: bool = False
    cancel_deletion: bool = False
    granular_replay: bool | None = None  # an owner's hasGranularReplayPermissions


@dataclass(frozen=True)
class OrganizationSettings:
    """The organization after a decision: what the response is rendered from."""

    organization_id: int
    slug: str
    name: str
    options: dict[str, Any]
    flags: dict[str, bool]
    default_role: str
    status: str = ACTIVE


def _reads(c: UpdateOrganization) -> dict[str, Any]:
    reads: dict[str, Any] = {"organization": (streams.organization(c.organization_id), OrganizationState)}
    if c.slug:
        reads["registry"] = (streams.ORGANIZATION_REGISTRY, OrganizationRegistry)
    return reads


def _check_sampling(cmd: UpdateOrganization, org: OrganizationState) -> None:
    """``OrganizationSerializer.validate``: a target rate only in the organization mode."""
    values = dict(cmd.values)
    current = org.options.get(SAMPLING_MODE_OPTION, SAMPLING_MODE_ORGANIZATION)
    requested = values.get("samplingMode")
    project_mode = requested == SAMPLING_MODE_PROJECT or (
        current == SAMPLING_MODE_PROJECT and requested != SAMPLING_MODE_ORGANIZATION
    )
    if project_mode and values.get("targetSampleRate") is not None:
        raise FieldErrors({"non_field_errors": [AUTOMATIC_MODE_ONLY]})


def _options(cmd: UpdateOrganization, org: OrganizationState, changed: dict[str, str]) -> dict[str, Any]:
    """ORG_OPTIONS in table order: a first store is audited only when it differs from the
    default; a stored value only when it changed (Sentry re-saves it either way)."""
    written: dict[str, Any] = {}
    values = _normalized(cmd)
    for spec in ORG_OPTIONS:
        if spec.field not in values:
            continue
        value = values[spec.field]
        if spec.key not in org.options:
            written[spec.key] = value
            if value != spec.default:
                changed[spec.field] = f"to {value}"
        elif org.options[spec.key] != value:
            changed[spec.field] = f"from {org.options[spec.key]} to {value}"
            written[spec.key] = value
    return written


def _granular_replay(
    cmd: UpdateOrganization, org: OrganizationState, changed: dict[str, str]
) -> dict[str, Any]:
    """Outside ORG_OPTIONS in Sentry: the first store is audited whatever its value."""
    value = cmd.granular_replay
    if value is None or org.options.get(GRANULAR_REPLAY_OPTION) == value:
        return {}
    old = org.options.get(GRANULAR_REPLAY_OPTION)
    changed["hasGranularReplayPermissions"] = f"to {value}" if old is None else f"from {old} to {value}"
    return {GRANULAR_REPLAY_OPTION: value}


def _normalized(cmd: UpdateOrganization) -> dict[str, Any]:
    """Each value as the registry types its option (``None`` stays ``None``), so the event
    holds only what every view folds; the HTTP layer has refused the rest already."""
    values, errors = dict(cmd.values), {}
    for spec in ORG_OPTIONS:
        if values.get(spec.field) is not None:
            try:
                values[spec.field] = spec.normalize(values[spec.field])
            except OptionError as exc:
                errors[spec.field] = [exc.message]
    if errors:
        raise FieldErrors(errors)
    return values


def _trusted_relays(
    cmd: UpdateOrganization, org: OrganizationState, now: datetime, changed: dict[str, str]
) -> dict[str, Any]:
    if cmd.trusted_relays is None:
        return {}
    existing = org.options.get(TRUSTED_RELAYS_OPTION)
    incoming, modified = merge_trusted_relays(list(cmd.trusted_relays), existing, now.isoformat())
    if not modified:
        return {}
    try:
        incoming = trusted_relays(incoming)
    except OptionError as exc:
        raise FieldErrors({"trustedRelays": [exc.message]}) from None
    # Sentry writes the option object here (its str is only a database id); we write its value.
    changed["trustedRelays"] = (
        f"to {incoming}" if TRUSTED_RELAYS_OPTION not in org.options else f"from {existing} to {incoming}"
    )
    return {TRUSTED_RELAYS_OPTION: incoming}


def _sampling_mode_change(
    cmd: UpdateOrganization, options: dict[str, Any], changed: dict[str, str]
) -> tuple[str, ...]:
    """What the endpoint does after saving when the sampling mode changed: the project mode
    drops the organization's target rate ("to Advanced Mode"), the organization mode keeps it."""
    if not cmd.dynamic_sampling or "samplingMode" not in changed:
        return ()
    if options.get(SAMPLING_MODE_OPTION) == SAMPLING_MODE_PROJECT:
        changed["samplingMode"] = "to Advanced Mode"
        return (TARGET_SAMPLE_RATE_OPTION,)
    changed["samplingMode"] = "to Default Mode"
    return ()


def _tracked_fields(
    cmd: UpdateOrganization, org: OrganizationState, changed: dict[str, str]
) -> tuple[str, str, str, dict[str, bool]]:
    """name, slug, default_role ("from X to Y"), then each changed flag ("to X", by flag name)."""
    name = org.name if cmd.name is None else cmd.name
    slug = org.slug if not cmd.slug else cmd.slug.lower()
    role = org.default_role if cmd.default_role is None else cmd.default_role
    for key, old, new in (
        ("name", org.name, name),
        ("slug", org.slug, slug),
        ("default_role", org.default_role, role),
    ):
        if old != new:
            changed[key] = f"from {old} to {new}"
    requested = dict(cmd.flags)
    flags = {}
    for flag in FLAG_DEFAULTS:
        if flag in requested and requested[flag] != org.flags[flag]:
            flags[flag] = requested[flag]
            changed[flag] = f"to {requested[flag]}"
    return name, slug, role, flags


def _slug_move(
    cmd: UpdateOrganization, org: OrganizationState, slug: str, registry: OrganizationRegistry | None
) -> tuple[Change, ...]:
    if slug == org.slug:
        return ()
    assert registry is not None and org.organization_id is not None
    owner = registry.slugs.get(slug)
    # Sentry's slug reservation refuses what is taken and what is not lower case, with one message.
    if (owner is not None and owner != org.organization_id) or cmd.slug != slug:
        raise FieldErrors({"slug": [f'The slug "{cmd.slug}" is in use by another organization.']})
    return (
        Change(streams.ORGANIZATION_REGISTRY, OrganizationSlugReleased(org.organization_id, org.slug)),
        Change(streams.ORGANIZATION_REGISTRY, OrganizationSlugReserved(org.organization_id, slug)),
    )


@handles(UpdateOrganization, reads=_reads)
def update_organization(
    cmd: UpdateOrganization,
    now: datetime,
    organization: OrganizationState,
    registry: OrganizationRegistry | None = None,
) -> Decision:
    org = organization
    if not org.exists:
        raise NotFound("The requested resource does not exist")
    assert org.organization_id is not None
    _check_sampling(cmd, org)
    changed: dict[str, str] = {}
    options = _options(cmd, org, changed)
    options.update(_trusted_relays(cmd, org, now, changed))
    options.update(_granular_replay(cmd, org, changed))
    removed = _sampling_mode_change(cmd, {**org.options, **options}, changed)
    options = {k: v for k, v in options.items() if k not in removed}
    removed = tuple(k for k in removed if k in org.options)
    name, slug, role, flags = _tracked_fields(cmd, org, changed)
    registry_changes = _slug_move(cmd, org, slug, registry)
    restoring = cmd.cancel_deletion and org.status == PENDING_DELETION
    edited = OrganizationEdited(
        org.organization_id, slug, name, org.slug, options, removed, flags, role, {} if restoring else changed
    )
    after = org.evolve(edited)
    events: tuple[Change, ...] = ()
    if options or removed or flags or changed:  # else nothing changed: nothing appended, nothing audited
        events = (*registry_changes, Change(streams.organization(org.organization_id), edited))
    if restoring:  # Sentry audits the restore instead of the edit
        restored = OrganizationRestored(org.organization_id, after.slug, audit_data(after, ACTIVE))
        events = (*events, Change(streams.organization(org.organization_id), restored))
        after = after.evolve(restored)
    settings = OrganizationSettings(
        org.organization_id,
        after.slug,
        after.name,
        after.options,
        after.flags,
        after.default_role,
        after.status,
    )
    return Decision(changes=events, result=settings)
