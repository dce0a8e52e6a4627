"""Chunked uploads: blobs (content-addressed chunks) with their owners, and the files
assembled from them (debug information files and artifact bundles).

A blob's bytes live in blob storage under its sha1; the log records that it is stored and
which organizations own it. Ownership matters: a blob owned only by another organization
counts as missing for yours, as in Sentry.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from events.base import Event, event
from events.projects import ProjectEvent
from events.streams import NAMESPACE


def blob_stream(checksum: str) -> UUID:
    """One stream per blob: concurrent uploads of one chunk meet here, so it is stored once."""
    return uuid5(NAMESPACE, f"blob:{checksum}")


def debug_file_stream(project_id: int, checksum: str) -> UUID:
    return uuid5(NAMESPACE, f"debug-file:{project_id}:{checksum}")


def artifact_bundle_stream(organization_id: int, checksum: str) -> UUID:
    return uuid5(NAMESPACE, f"artifact-bundle:{organization_id}:{checksum}")


@event
@dataclass(frozen=True)
class BlobStored(Event):
    TOPIC = "uploads.BlobStored.v1"
    checksum: str
    size: int
    storage_key: str


@event
@dataclass(frozen=True)
class BlobOwned(Event):
    TOPIC = "uploads.BlobOwned.v1"
    checksum: str
    organization_id: int


@event
@dataclass(frozen=True)
class DebugFileCreated(ProjectEvent):
    """A debug information file assembled from its chunks; what Sentry's ``dif`` shows."""

    TOPIC = "uploads.DebugFileCreated.v1"
    checksum: str
    name: str
    size: int
    debug_id: str
    code_id: str | None
    cpu_name: str
    object_kind: str
    file_format: str
    features: tuple[str, ...]
    storage_key: str


@event
@dataclass(frozen=True)
class ArtifactBundleCreated(Event):
    """A source-map artifact bundle: its manifest's bundle id and files, for the release."""

    TOPIC = "uploads.ArtifactBundleCreated.v1"
    organization_id: int
    checksum: str
    bundle_id: str
    project_ids: tuple[int, ...]
    release: str | None
    dist: str | None
    file_count: int
    size: int
    storage_key: str
