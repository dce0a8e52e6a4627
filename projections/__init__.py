"""Every read model, by name."""

from projections.audit_log import AuditLog
from projections.base import Projection, View, on
from projections.directory import Directory
from projections.project_options import ProjectOptions
from projections.uploads import Uploads

PROJECTIONS: tuple[type[Projection], ...] = (Directory, ProjectOptions, AuditLog, Uploads)

__all__ = ["PROJECTIONS", "AuditLog", "Directory", "ProjectOptions", "Projection", "Uploads", "View", "on"]
