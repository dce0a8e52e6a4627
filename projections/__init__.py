"""Every read model, by name."""

from projections.audit_log import AuditLog
from projections.base import Projection, View, on
from projections.directory import Directory
from projections.project_options import ProjectOptions

PROJECTIONS: tuple[type[Projection], ...] = (Directory, ProjectOptions, AuditLog)

__all__ = ["PROJECTIONS", "AuditLog", "Directory", "ProjectOptions", "Projection", "View", "on"]
