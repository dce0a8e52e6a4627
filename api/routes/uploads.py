"""Chunk upload and assembly: what ``sentry-cli debug-files upload`` and ``sourcemaps upload`` use.

Routes translate: the limits and storage are in ``infra.chunks``, assembly in ``infra.assemble``
(run as a job), ownership and files are events (``commands.uploads``) read through the
``uploads`` view.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from flask import Response, jsonify, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from api import context
from api.commanding import remember_write
from api.consistency import consistent
from api.errors import ApiError
from api.multipart import MalformedBody, file_parts
from api.openapi import DETAIL, UPLOAD, operation
from api.screen import load_json
from api.upload_schemas import (
    ASSEMBLE_STATES_BY_CHECKSUM,
    CHUNK_UPLOAD_FORM,
    AssembleState,
    ChunkUploadOptions,
)
from commands.uploads import RecordBlobs
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
    Part,
    max_file_size,
    receive_chunks,
    upload_url,
)
from infra.debug_files import DIF_MIMETYPES
from infra.jobs import enqueue, jobs_stream
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
    boundary = request.mimetype_params.get("boundary", "")
    if request.mimetype != "multipart/form-data" or not boundary:
        return Response(status=200)  # no parts (as werkzeug's form parser read it)
    parts = (
        Part(filename, stream, gzipped=field == "file_gzip")
        for field, filename, stream in file_parts(
            request.stream, boundary.encode("latin-1"), CHUNK_FIELDS, MAX_FORM_PARTS
        )
    )
    svc = context.services()
    try:
        blobs = receive_chunks(blob_storage(svc.settings.data_dir / "blobs"), parts)
    except ChunkError as exc:
        raise error(str(exc)) from None
    except RequestEntityTooLarge:
        raise error(REQUEST_TOO_LARGE) from None
    except MalformedBody:
        return Response(status=200)  # nothing stored, as when werkzeug's parser gave up
    if not blobs:
        return Response(status=200)
    outcome = svc.dispatch(RecordBlobs(org.id, blobs), context.meta())
    if outcome.position is not None:
        remember_write(outcome.position, outcome.topics)
    # An acknowledged chunk is there for every reader, as in Sentry (which stores it before it
    # answers): sentry-cli, or another token's assemble, asks for missing chunks right after.
    context.wait_until(outcome.position, ["uploads"], "position")
    return Response(status=200)


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
    consistent(["uploads"])
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
    consistent(["uploads"])
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
