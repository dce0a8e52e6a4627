"""Chunk upload and assembly bodies (``api/routes/uploads.py``), as the OpenAPI document
describes them. The routes validate their JSON bodies with ``DIF_SCHEMA`` and
``BUNDLE_SCHEMA`` (JSON schema, beside them) and build their answers by hand."""

from __future__ import annotations

from marshmallow import fields

from api.response_fields import Body, Int, ListOf, Map, Obj, Str, Time, strings

ASSEMBLE_STATES = ["not_found", "created", "assembling", "ok", "error"]

CHUNK_UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "file_gzip": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}


class ChunkUploadOptions(Body):
    url = Str()
    chunkSize = Int()
    chunksPerRequest = Int()
    maxFileSize = Int()
    maxRequestSize = Int()
    concurrency = Int()
    hashAlgorithm = Str(enum=["sha1"])
    compression = ListOf(strings())
    accept = ListOf(strings())


class DifData(Body):
    """Empty for a BCSymbolMap or UUID map (no object kind, no features)."""

    type = Str(optional=True)
    features = ListOf(strings(), optional=True)


class DebugFile(Body):
    """``uploads.serialize_dif`` (Sentry's ``DebugFileSerializer``)."""

    id = Str()
    uuid = Str()
    debugId = Str()
    codeId = Str(null=True)
    cpuName = Str()
    objectName = Str()
    symbolType = Str()
    headers = Map(fields.String())
    size = Int()
    sha1 = Str()
    dateCreated = Time()
    data = Obj(DifData)


class AssembleState(Body):
    """One file's assembly: ``detail`` is absent while its chunks are missing."""

    state = Str(enum=ASSEMBLE_STATES)
    detail = Str(optional=True, null=True)
    missingChunks = ListOf(strings())
    dif = Obj(DebugFile, optional=True)


# ``POST .../files/difs/assemble/``: checksum -> that file's assembly.
ASSEMBLE_STATES_BY_CHECKSUM = {"type": "object", "additionalProperties": AssembleState}
