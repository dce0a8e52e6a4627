"""Blobs and the files assembled from them: pure deciders.

What comes from outside (the blob's size and storage key, the parsed debug file, the bundle's
manifest) is measured before ``decide`` and arrives on the command.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, NotFound, State, handles
from events import Event
from events.projects import ProjectCreated
from events.streams import project as project_stream
from events.uploads import (
    ArtifactBundleCreated,
    BlobOwned,
    BlobStored,
    DebugFileCreated,
    artifact_bundle_stream,
    blob_stream,
    debug_file_stream,
)


@dataclass(frozen=True)
class BlobState(State):
    size: int | None = None
    storage_key: str = ""
    owners: frozenset[int] = frozenset()

    @property
    def stored(self) -> bool:
        return self.size is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, BlobStored):
            return replace(self, size=event.size, storage_key=event.storage_key)
        if isinstance(event, BlobOwned):
            return replace(self, owners=self.owners | {event.organization_id})
        return self


@dataclass(frozen=True)
class StoredBlob:
    checksum: str
    size: int
    storage_key: str


@dataclass(frozen=True)
class RecordBlobs(Command):
    """The blobs of one upload request, already in blob storage, to be owned by the organization."""

    organization_id: int
    blobs: tuple[StoredBlob, ...]


def _blob_reads(c: RecordBlobs) -> dict[str, tuple[object, type[State]]]:
    return {f"blob_{b.checksum}": (blob_stream(b.checksum), BlobState) for b in c.blobs}


@handles(RecordBlobs, reads=_blob_reads)  # type: ignore[arg-type]
def record_blobs(cmd: RecordBlobs, now: datetime, **blobs: BlobState) -> Decision:
    """``FileBlob.from_files``: a new blob is stored once; every upload makes the org an owner."""
    changes: list[Change] = []
    for blob in cmd.blobs:
        state, stream = blobs[f"blob_{blob.checksum}"], blob_stream(blob.checksum)
        if not state.stored:
            changes.append(Change(stream, BlobStored(blob.checksum, blob.size, blob.storage_key)))
        if cmd.organization_id not in state.owners:
            changes.append(Change(stream, BlobOwned(blob.checksum, cmd.organization_id)))
    return Decision(changes=tuple(changes))


@dataclass(frozen=True)
class _Existence(State):
    """Whether a stream's entity was created (a project, a debug file, a bundle)."""

    organization_id: int | None = None
    created: bool = False

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ProjectCreated):
            return replace(self, organization_id=event.organization_id, created=True)
        if isinstance(event, DebugFileCreated | ArtifactBundleCreated):
            return replace(self, created=True)
        return self


@dataclass(frozen=True)
class DebugFile:
    """What the assembler read from the file."""

    debug_id: str
    code_id: str | None
    cpu_name: str
    object_kind: str
    file_format: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class CreateDebugFile(Command):
    project_id: int
    checksum: str
    name: str
    size: int
    storage_key: str
    dif: DebugFile


@handles(
    CreateDebugFile,
    reads=lambda c: {
        "project": (project_stream(c.project_id), _Existence),
        "debug_file": (debug_file_stream(c.project_id, c.checksum), _Existence),
    },
)
def create_debug_file(
    cmd: CreateDebugFile, now: datetime, project: _Existence, debug_file: _Existence
) -> Decision:
    """One debug file per (project, checksum): assembling the same file again adds nothing."""
    if not project.created or project.organization_id is None:
        raise NotFound("The requested resource does not exist")
    if debug_file.created:
        return Decision()
    d = cmd.dif
    created = DebugFileCreated(
        cmd.project_id,
        project.organization_id,
        cmd.checksum,
        cmd.name,
        cmd.size,
        d.debug_id,
        d.code_id,
        d.cpu_name,
        d.object_kind,
        d.file_format,
        d.features,
        cmd.storage_key,
    )
    return Decision(changes=(Change(debug_file_stream(cmd.project_id, cmd.checksum), created),))


@dataclass(frozen=True)
class CreateArtifactBundle(Command):
    organization_id: int
    checksum: str
    bundle_id: str
    project_ids: tuple[int, ...]
    release: str | None
    dist: str | None
    file_count: int
    size: int
    storage_key: str


@handles(
    CreateArtifactBundle,
    reads=lambda c: {"bundle": (artifact_bundle_stream(c.organization_id, c.checksum), _Existence)},
)
def create_artifact_bundle(cmd: CreateArtifactBundle, now: datetime, bundle: _Existence) -> Decision:
    if bundle.created:
        return Decision()
    created = ArtifactBundleCreated(
        cmd.organization_id,
        cmd.checksum,
        cmd.bundle_id,
        cmd.project_ids,
        cmd.release,
        cmd.dist,
        cmd.file_count,
        cmd.size,
        cmd.storage_key,
    )
    return Decision(changes=(Change(artifact_bundle_stream(cmd.organization_id, cmd.checksum), created),))
