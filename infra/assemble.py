"""Assembling uploaded chunks into files, off the request path, with a state readable meanwhile.

The state lives in Redis as Sentry keeps it (``assemble-status:<sha1>``, ``[state, detail]``,
600 s): the endpoint sets ``created`` and enqueues a job; the job sets ``assembling``, then
``ok`` once the file's event is in the log and its view, or ``error`` with Sentry's detail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from commands.uploads import CreateArtifactBundle, CreateDebugFile
from events import Meta
from infra.blobstore import BlobStorage, LocalBlobStorage, read_blocks, storage_key
from infra.bundles import InvalidBundle, read_manifest
from infra.chunks import max_file_size
from infra.debug_files import BadDif, detect
from infra.fetch_commits import CommitFetcher
from infra.jobs import JobRunner, jobs_stream
from infra.telemetry import log
from projections.uploads import owned_chunks

LOGGER = logging.getLogger("eventry.assemble")
STATUS_TTL = 600
SYSTEM = Meta(actor_type="system", actor_label="assemble")


class AssembleTask:
    DIF = "project.dsym"
    ARTIFACT_BUNDLE = "organization.artifact_bundle"


class ChunkFileState:
    OK = "ok"
    NOT_FOUND = "not_found"
    CREATED = "created"
    ASSEMBLING = "assembling"
    ERROR = "error"


class AssembleError(Exception):
    """Fails the assembly with ``detail`` (Sentry's messages)."""


@lru_cache(maxsize=16)
def blob_storage(root: Path) -> BlobStorage:
    return LocalBlobStorage(root)


def status_key(task: str, scope_id: int, checksum: str) -> str:
    digest = hashlib.sha1(f"{scope_id}|{checksum}|{task}".encode(), usedforsecurity=False).hexdigest()
    return f"assemble-status:{digest}"


def get_status(redis: Any, task: str, scope_id: int, checksum: str) -> tuple[str | None, Any]:
    raw = redis.get(status_key(task, scope_id, checksum))
    if raw is None:
        return None, None
    state, detail = json.loads(raw)
    return state, detail


def set_status(redis: Any, task: str, scope_id: int, checksum: str, state: str, detail: Any = None) -> None:
    redis.set(status_key(task, scope_id, checksum), json.dumps([state, detail]), ex=STATUS_TTL)


@dataclass(frozen=True)
class DifJob:
    project_id: int
    organization_id: int
    name: str
    debug_id: str | None
    checksum: str
    chunks: tuple[str, ...]


@dataclass(frozen=True)
class BundleJob:
    organization_id: int
    project_ids: tuple[int, ...]
    version: str | None
    dist: str | None
    checksum: str
    chunks: tuple[str, ...]


def payload(job: DifJob | BundleJob) -> dict[str, Any]:
    return asdict(job)


class Assembler:
    """Runs assemble jobs with the services of this process (``svc`` is ``infra.bootstrap.Services``)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self.storage = blob_storage(svc.settings.data_dir / "blobs")

    def handlers(self) -> dict[str, Any]:
        return {
            "assemble_dif": lambda p: self.assemble_dif(DifJob(**{**p, "chunks": tuple(p["chunks"])})),
            "assemble_artifact_bundle": lambda p: self.assemble_bundle(
                BundleJob(**{**p, "chunks": tuple(p["chunks"]), "project_ids": tuple(p["project_ids"])})
            ),
        }

    def assemble_dif(self, job: DifJob) -> None:
        task, scope = AssembleTask.DIF, job.project_id
        with self._reporting(task, scope, job.checksum):
            key, size = self.assemble_file(job.organization_id, job.name, job.checksum, job.chunks)
            try:
                object_name, dif = detect(self.storage.local_path(key), job.name, job.debug_id)
            except BadDif as exc:
                raise AssembleError(str(exc)) from None
            command = CreateDebugFile(job.project_id, job.checksum, object_name, size, key, dif)
            self._commit(command)
            set_status(self.svc.redis, task, scope, job.checksum, ChunkFileState.OK)

    def assemble_bundle(self, job: BundleJob) -> None:
        task, scope = AssembleTask.ARTIFACT_BUNDLE, job.organization_id
        with self._reporting(task, scope, job.checksum):
            key, size = self.assemble_file(
                job.organization_id, "artifact-bundle.zip", job.checksum, job.chunks
            )
            with self.storage.open(key) as f:
                try:
                    manifest = read_manifest(f, job.checksum)
                except InvalidBundle as exc:
                    raise AssembleError(str(exc)) from None
            command = CreateArtifactBundle(
                job.organization_id,
                job.checksum,
                manifest.bundle_id,
                job.project_ids,
                job.version,
                job.dist,
                manifest.file_count,
                size,
                key,
            )
            self._commit(command)
            set_status(self.svc.redis, task, scope, job.checksum, ChunkFileState.OK)

    def assemble_file(
        self, organization_id: int, name: str, checksum: str, chunks: tuple[str, ...]
    ) -> tuple[str, int]:
        """Sentry's ``assemble_file``: the organization's chunks, in order, checked whole."""
        with self.svc.engine.read("uploads") as view:
            owned = owned_chunks(view, organization_id, chunks)
        if any(c not in owned for c in chunks):
            raise AssembleError("Not all chunks available for assembling")
        size, limit = sum(owned[c] for c in chunks), max_file_size(self.svc.settings.features)
        if size > limit:
            raise AssembleError(f"File {name} exceeds maximum size ({size} > {limit})")
        try:
            staged = self.storage.stage(self._chunk_bytes(chunks), limit)
        except FileNotFoundError:
            raise AssembleError("Not all chunks available for assembling") from None
        if staged.checksum != checksum:
            self.storage.discard(staged)
            raise AssembleError("Reported checksum mismatch")
        return self.storage.commit(staged), staged.size

    def _chunk_bytes(self, chunks: tuple[str, ...]) -> Iterator[bytes]:
        for chunk in chunks:
            with self.storage.open(storage_key(chunk)) as f:
                yield from read_blocks(f)

    def _commit(self, command: Any) -> None:
        """Append the file's event, then wait until the view has it: ``ok`` means readable."""
        outcome = self.svc.dispatch(command, SYSTEM)
        if outcome.position is not None:
            self.svc.engine.wait(outcome.position, ["uploads"], timeout=self.svc.settings.read_wait_timeout)

    @contextlib.contextmanager
    def _reporting(self, task: str, scope: int, checksum: str) -> Iterator[None]:
        redis = self.svc.redis
        set_status(redis, task, scope, checksum, ChunkFileState.ASSEMBLING)
        try:
            yield
        except AssembleError as exc:
            set_status(redis, task, scope, checksum, ChunkFileState.ERROR, str(exc))
        except Exception as exc:
            log(LOGGER, logging.ERROR, "assemble failed", task=task, checksum=checksum, error=repr(exc))
            set_status(redis, task, scope, checksum, ChunkFileState.ERROR, "internal server error")


def job_runner(svc: Any, **kwargs: Any) -> JobRunner:
    """The runner of this deployment's jobs (``eventry worker``, or a thread of ``serve``)."""
    # A blocking read on the in-process Redis polls inside the client while holding the GIL,
    # starving the request threads: the embedded default polls instead.
    block = svc.settings.redis_url is not None
    handlers = {**Assembler(svc).handlers(), **CommitFetcher(svc).handlers()}  # + fetch_commits
    return JobRunner(svc.redis, jobs_stream(svc.settings), handlers, block=block, **kwargs)
