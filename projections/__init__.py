"""Every read model, by name."""

from projections.audit_log import AuditLog
from projections.base import Projection, View, on
from projections.directory import Directory
from projections.environments import Environments
from projections.groups import Groups
from projections.org_events import OrgEvents
from projections.organization_options import OrganizationOptions
from projections.project_keys import ProjectKeys
from projections.project_options import ProjectOptions
from projections.relay_configs import RelayConfigs
from projections.relays import Relays
from projections.releases import Releases
from projections.teams import Teams
from projections.tokens import Tokens
from projections.uploads import Uploads

PROJECTIONS: tuple[type[Projection], ...] = (
    Directory,
    ProjectOptions,
    AuditLog,
    Uploads,
    RelayConfigs,
    Relays,
    OrganizationOptions,
    ProjectKeys,
    Releases,
    Environments,
    Groups,
    Teams,
    Tokens,
    OrgEvents,
)

__all__ = [
    "PROJECTIONS",
    "AuditLog",
    "Directory",
    "Environments",
    "Groups",
    "OrgEvents",
    "OrganizationOptions",
    "ProjectKeys",
    "ProjectOptions",
    "Projection",
    "RelayConfigs",
    "Relays",
    "Releases",
    "Teams",
    "Tokens",
    "Uploads",
    "View",
    "on",
]
