"""Chunk upload and assembly: what ``sentry-cli debug-files upload`` and ``sourcemaps upload`` use.

Routes translate: the limits and storage are in ``infra.chunks``, assembly in ``infra.assemble``
(run as a job), ownership and files are events (``commands.uploads``) read through the
``uploads`` view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
from flask import Flask, Response, jsonify, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_options_header

from api import context
from api.asgi import STREAMED_BODY
from api.consistency import consistent
from api.errors import ApiError
from api.multipart import READ_SIZE, FileParts, MalformedBody
from api.openapi import DETAIL, UPLOAD, operation
from api.screen import load_json
from api.upload_schemas import (
    ASSEMBLE_STATES_BY_CHECKSUM,
    CHUNK_UPLOAD_FORM,
    AssembleState,
    ChunkUploadOptions,
)
from commands.uploads import RecordBlobs, StoredBlob
from infra.assemble import (
    AssembleTask,
    BundleJob,
    ChunkFileState,
    DifJob,
    blob_storage,
    get_status,
    payload,
    set_status,
)
from infra.blobstore import BlobStorage, read_blocks
from infra.chunks import (
    CHUNK_SIZE,
    CHUNK_UPLOAD_ACCEPT,
    HASH_ALGORITHM,
    MAX_BODY_SIZE,
    MAX_CHUNKS_PER_REQUEST,
    MAX_CONCURRENCY,
    MAX_FORM_PARTS,
    MAX_REQUEST_SIZE,
    REQUEST_TOO_LARGE,
    ChunkError,
    ChunkReceiver,
    max_file_size,
    upload_url,
)
from infra.debug_files import DIF_MIMETYPES
from infra.jobs import enqueue, jobs_stream
from infra.read_your_writes import position_for
from projections.directory import list_projects
from projections.uploads import find_debug_file, find_missing_chunks

bp = Blueprint("uploads", __name__)
CHUNK_FIELDS = ("file", "file_gzip")

# OrganizationReleasePermission / ProjectReleasePermission
RELEASE_READ, RELEASE_WRITE = context.RELEASE_READ, context.RELEASE_WRITE

SHA1 = "^[0-9a-f]{40}$"
DIF_SCHEMA = {
    "type": "object",
    "patternProperties": {
        SHA1: {
            "type": "object",
            "required": ["name", "chunks"],
            "properties": {
                "name": {"type": "string"},
                "debug_id": {"type": "string"},
                "chunks": {"type": "array", "items": {"type": "string", "pattern": SHA1}},
            },
            "additionalProperties": True,
        }
    },
    "additionalProperties": False,
}
BUNDLE_SCHEMA = {
    "type": "object",
    "properties": {
        "version": {"type": "string", "pattern": "^[^/]+$", "minLength": 1},
        "dist": {"type": "string"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "checksum": {"type": "string", "pattern": SHA1},
        "chunks": {"type": "array", "items": {"type": "string", "pattern": SHA1}},
    },
    "required": ["checksum", "chunks", "projects"],
    "additionalProperties": False,
}
BUNDLE_ERRORS = {
    "version": 'The version field cannot be empty and cannot contain any "/" characters.',
    "dist": "The dist field must be a string.",
    "projects": "The projects field is required and must be provided as an array of strings.",
    "checksum": "The checksum field is required and must be a 40-character hexadecimal string.",
    "chunks": "The chunks field is required and must be provided as an array of 40-character "
    "hexadecimal strings.",
}


def error(message: str) -> ApiError:
    return ApiError(400, {"error": message})


@bp.get("/organizations/<org_slug>/chunk-upload/")
@bp.response(200, ChunkUploadOptions)
@operation("Chunk upload settings (what sentry-cli reads first)")
@context.requires(RELEASE_READ)
def chunk_upload_options(org_slug: str) -> Response:
    org = context.organization(org_slug)
    settings = context.services().settings
    path = f"/api/0/organizations/{org.slug}/chunk-upload/"
    return jsonify(
        url=upload_url(settings.url_prefix, path, request.headers.get("User-Agent", "")),
        chunkSize=CHUNK_SIZE,
        chunksPerRequest=MAX_CHUNKS_PER_REQUEST,
        maxFileSize=max_file_size(settings.features),
        maxRequestSize=MAX_REQUEST_SIZE,
        concurrency=MAX_CONCURRENCY,
        hashAlgorithm=HASH_ALGORITHM,
        compression=["gzip"],
        accept=list(CHUNK_UPLOAD_ACCEPT),
    )


@bp.post("/organizations/<org_slug>/chunk-upload/")
@bp.response(200)
@operation(
    "Upload chunks (multipart `file` / `file_gzip` parts, named by their SHA-1)",
    body=CHUNK_UPLOAD_FORM,
    media="multipart/form-data",
    bad_request=(UPLOAD, DETAIL),
)
@context.requires(RELEASE_WRITE)
def upload_chunks(org_slug: str) -> Response:
    org = context.organization(org_slug)
    if request.content_length is not None and request.content_length > MAX_BODY_SIZE:
        raise error(REQUEST_TOO_LARGE)
    request.max_content_length = MAX_BODY_SIZE  # a body of unknown length stops there (413)
    svc = context.services()
    streamed: ChunkBody | None = request.environ.get(STREAMED_BODY)  # fed as it arrived (api.asgi)
    body = streamed or chunk_body(blob_storage(svc.settings.data_dir / "blobs"), request.content_type or "")
    if body is None:
        return Response(status=200)  # no parts (as werkzeug's form parser read it)
    try:
        if streamed is None:  # a WSGI server that passed the body on as it is: read it here
            for block in read_blocks(request.stream, READ_SIZE):
                body.feed(block)
            body.close()
        blobs = body.store()
    except ChunkError as exc:
        raise error(str(exc)) from None
    except RequestEntityTooLarge:
        raise error(REQUEST_TOO_LARGE) from None
    except MalformedBody:
        return Response(status=200)  # nothing stored, as when werkzeug's parser gave up
    finally:
        body.discard()
    if not blobs:
        return Response(status=200)
    outcome = svc.dispatch(RecordBlobs(org.id, blobs), context.meta())
    if outcome.position is not None:
        # An acknowledged chunk is there for every reader, as in Sentry (which stores it before
        # it answers): sentry-cli, or another token's assemble, asks for missing chunks right
        # after. Those readers wait for the view to show it (``chunks_consistent``): the mark
        # is the organization's as well as the caller's (read-your-writes), and this answer
        # does not wait for the projection worker.
        callers = (context.caller_key(context.principal()), chunks_of(org.id))
        svc.marks.remember_for(callers, outcome.position, outcome.topics)
    return Response(status=200)


def chunks_of(organization_id: int) -> str:
    """The read-your-writes caller whose marks are the chunks acknowledged to an organization,
    whichever token uploaded them."""
    return f"chunks:org:{organization_id}"


def chunks_consistent(organization_id: int) -> None:
    """Wait until the uploads view shows the caller's own writes and every chunk acknowledged
    to the organization (by any token)."""
    consistent(["uploads"])
    marks = context.services().marks.marks(chunks_of(organization_id))
    context.wait_until(position_for(marks, ["uploads"]), ["uploads"])


class ChunkBody:
    """A chunk upload's multipart body, received block by block (``feed``, then ``close``):
    its ``file`` and ``file_gzip`` parts measured, hashed and staged as they arrive
    (``infra.chunks.ChunkReceiver``). The first error (a malformed body, too many parts, a
    part past the chunk size, broken gzip) is kept and the rest of the body ignored; ``store``
    raises it, or checks and commits the chunks; ``discard`` drops what was not committed."""

    def __init__(self, storage: BlobStorage, boundary: bytes) -> None:
        self._chunks = ChunkReceiver(storage)
        self._boundary = boundary
        self._parts: FileParts | None = None
        self._error: Exception | None = None
        self._discarded = False

    def feed(self, block: bytes) -> None:
        if self._error is not None or self._discarded:
            return
        try:
            if self._parts is None:
                self._parts = FileParts(self._boundary, CHUNK_FIELDS, MAX_FORM_PARTS, self)
            self._parts.feed(block)
        except Exception as exc:  # kept for the route, in the thread that answers
            self._error = exc

    def close(self) -> None:
        self.feed(b"")

    def begin(self, field: str, filename: str) -> None:
        self._chunks.begin(filename, gzipped=field == "file_gzip")

    def write(self, data: bytes) -> None:
        self._chunks.write(data)

    def end(self) -> None:
        self._chunks.end()

    def store(self) -> tuple[StoredBlob, ...]:
        if self._error is not None:
            raise self._error
        return self._chunks.store()

    def discard(self) -> None:
        self._discarded = True
        self._chunks.discard()


CHUNK_UPLOAD_ENDPOINT = f"{bp.name}.{upload_chunks.__name__}"


def chunk_body(storage: BlobStorage, content_type: str) -> ChunkBody | None:
    """The receiver of a chunk-upload body of this Content-Type; None if it is not multipart."""
    mimetype, params = parse_options_header(content_type)
    boundary = params.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        return None
    return ChunkBody(storage, boundary.encode("latin-1"))


def streamed_bodies(app: Flask) -> Callable[[str, str, str], ChunkBody | None]:
    """For the event loop (``api.asgi``): the receiver that a request's body is fed into as it
    arrives, so that its chunks are hashed and written while the rest is still on its way;
    None for every request but a chunk upload."""
    urls = app.url_map.bind("localhost")
    storage = blob_storage(app.extensions["eventry"].settings.data_dir / "blobs")

    def body_for(method: str, path: str, content_type: str) -> ChunkBody | None:
        try:
            endpoint, _ = urls.match(path, method)
        except HTTPException:  # no such route (or a redirect): the app answers it
            return None
        return chunk_body(storage, content_type) if endpoint == CHUNK_UPLOAD_ENDPOINT else None

    return body_for


def _json(schema: dict[str, Any], messages: dict[str, str] | None = None) -> Any:
    try:
        data = load_json(request.get_data())  # the screen's parser: also past its size
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        if messages is None:
            raise error(str(exc).splitlines()[0]) from None
        field = str(exc.path[0]) if exc.path else ""
        raise error(messages.get(field, exc.message) if field else exc.message) from None
    except ValueError:
        raise error("Invalid json body") from None
    return data


@bp.post("/projects/<org_slug>/<project_slug>/files/difs/assemble/")
@bp.response(200, ASSEMBLE_STATES_BY_CHECKSUM)
@operation("Assemble debug information files from uploaded chunks", body=DIF_SCHEMA, bad_request=(UPLOAD,))
@context.requires(RELEASE_WRITE)
def assemble_difs(org_slug: str, project_slug: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    files = _json(DIF_SCHEMA)
    chunks_consistent(org.id)
    svc = context.services()
    response: dict[str, Any] = {}
    for checksum, file in files.items():
        chunks = list(file["chunks"])
        state, detail = get_status(svc.redis, AssembleTask.DIF, project.id, checksum)
        with svc.engine.read("uploads") as view:
            dif = find_debug_file(view, project.id, checksum)
            missing = find_missing_chunks(view, org.id, chunks) if state is None and dif is None else []
        if state is not None and state != ChunkFileState.OK:
            response[checksum] = {"state": state, "detail": detail, "missingChunks": []}
        elif dif is not None:
            response[checksum] = {
                "state": ChunkFileState.OK,
                "detail": None,
                "missingChunks": [],
                "dif": serialize_dif(dif, org.slug),
            }
        elif state == ChunkFileState.OK:
            response[checksum] = {"state": state, "detail": None, "missingChunks": []}
        elif not chunks or missing:
            response[checksum] = {"state": ChunkFileState.NOT_FOUND, "missingChunks": missing}
        else:
            job = DifJob(project.id, org.id, file["name"], file.get("debug_id"), checksum, tuple(chunks))
            set_status(svc.redis, AssembleTask.DIF, project.id, checksum, ChunkFileState.CREATED)
            enqueue(svc.redis, jobs_stream(svc.settings), "assemble_dif", payload(job))
            response[checksum] = {"state": ChunkFileState.CREATED, "missingChunks": []}
    return jsonify(response)


def serialize_dif(dif: dict[str, Any], org_slug: str) -> dict[str, Any]:
    """Sentry's ``DebugFileSerializer``."""
    return {
        "id": dif["checksum"],
        "uuid": dif["debug_id"][:36],
        "debugId": dif["debug_id"],
        "codeId": dif["code_id"],
        "cpuName": dif["cpu_name"],
        "objectName": dif["name"],
        "symbolType": dif["file_format"],
        "headers": {"Content-Type": DIF_MIMETYPES.get(dif["file_format"], "application/octet-stream")},
        "size": dif["size"],
        "sha1": dif["checksum"],
        "dateCreated": dif["date_created"].replace("+00:00", "Z"),
        # A BCSymbolMap or UUID map has no object kind: Sentry stores no data for it.
        "data": {"type": dif["object_kind"], "features": dif["features"]} if dif["object_kind"] else {},
    }


@bp.post("/organizations/<org_slug>/artifactbundle/assemble/")
@bp.response(200, AssembleState)
@operation(
    "Assemble an artifact bundle (source maps) from uploaded chunks",
    body=BUNDLE_SCHEMA,
    bad_request=(UPLOAD,),
)
@context.requires(RELEASE_WRITE)
def assemble_artifact_bundle(org_slug: str) -> Response:
    org = context.organization(org_slug)
    data = _json(BUNDLE_SCHEMA, BUNDLE_ERRORS)
    wanted = data.get("projects", [])
    if not wanted:
        raise error("You need to specify at least one project")
    svc = context.services()
    with svc.engine.read("directory") as view:
        projects = [p for p in list_projects(view, org.id) if p.status == "active"]
    project_ids = sorted({p.id for p in projects if p.slug in wanted or str(p.id) in wanted})
    if len(project_ids) != len(wanted):
        raise error("One or more projects are invalid")
    checksum, chunks = data["checksum"], data.get("chunks", [])
    chunks_consistent(org.id)
    with svc.engine.read("uploads") as view:
        missing = find_missing_chunks(view, org.id, chunks)
    if missing:
        return jsonify(state=ChunkFileState.NOT_FOUND, missingChunks=missing)
    state, detail = get_status(svc.redis, AssembleTask.ARTIFACT_BUNDLE, org.id, checksum)
    if state == ChunkFileState.OK:
        return jsonify(state=state, detail=None, missingChunks=[])
    if state is not None:
        return jsonify(state=state, detail=detail, missingChunks=[])
    if not chunks:
        return jsonify(state=ChunkFileState.NOT_FOUND, missingChunks=[])
    version, dist = data.get("version"), data.get("dist")
    if not version and dist:  # Sentry checks this after marking the file created; bad input changes nothing
        raise error("You need to specify a release together with a dist")
    set_status(svc.redis, AssembleTask.ARTIFACT_BUNDLE, org.id, checksum, ChunkFileState.CREATED)
    job = BundleJob(org.id, tuple(project_ids), version, dist, checksum, tuple(chunks))
    enqueue(svc.redis, jobs_stream(svc.settings), "assemble_artifact_bundle", payload(job))
    return jsonify(state=ChunkFileState.CREATED, missingChunks=[])
