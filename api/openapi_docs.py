"""The OpenAPI registry: each route's endpoint name -> its ``Doc`` (``api/openapi.py``).

Request bodies are the schemas the routes load with (``api/schemas.py``, ``api/*_schemas.py``);
responses are ``api/response_schemas.py``. The relay routes parse their JSON by hand (as Sentry's
do), so their bodies are described here.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from api import response_schemas as out
from api.openapi import DETAIL, FIELDS, OPTIONAL_BEARER, PUBLIC, RELAY, UPLOAD, Doc
from api.openapi_releases import RELEASE_DOCS, RELEASE_FIELDS
from api.organization_schemas import OrganizationSchema, OwnerOrganizationSchema, TrustedRelay
from api.project_schemas import (
    OPTIONS_SCHEMA,
    KeyCreateSchema,
    KeyUpdateSchema,
    ProjectCreateSchema,
    ProjectOptions,
    ProjectUpdateSchema,
    RateLimit,
)
from api.routes.relay_configs import MAX_KEYS
from api.routes.relays import RELAY_ID
from api.routes.uploads import BUNDLE_SCHEMA, DIF_SCHEMA
from api.schemas import AuditQuerySchema, MetricVisibilitySchema
from events.option_registry import INT32_MAX

DETAIL_OR_FIELDS = (DETAIL, FIELDS)


class RelayChallengeRequest(Schema):
    """``POST /relays/register/challenge/``: signed with the registering relay's own key."""

    class Meta:
        unknown = EXCLUDE

    relay_id = fields.String(required=True, validate=validate.Regexp(RELAY_ID.pattern))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.String()


class RelayResponseRequest(Schema):
    """``POST /relays/register/response/``: the challenge's token, signed again."""

    class Meta:
        unknown = EXCLUDE

    relay_id = fields.String(required=True, validate=validate.Regexp(RELAY_ID.pattern))
    token = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.String()


class ProjectConfigsRequest(Schema):
    """``POST /relays/projectconfigs/``: ``projects`` (version 1) or ``publicKeys`` (2, 3)."""

    class Meta:
        unknown = EXCLUDE

    publicKeys = fields.List(fields.String(), validate=validate.Length(max=MAX_KEYS), allow_none=True)
    projects = fields.List(fields.Integer(), validate=validate.Length(max=MAX_KEYS), allow_none=True)
    revisions = fields.List(fields.String(allow_none=True), allow_none=True)
    fullConfig = fields.Boolean()
    noCache = fields.Boolean()
    global_ = fields.Boolean(data_key="global")


CHUNK_UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "file_gzip": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}
ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
OPTIONS_BODY = {"type": "object", "additionalProperties": True, "description": "option key -> stored value"}

# Custom marshmallow fields, as JSON schema (the DRF-like ones of api/drf.py are mapped in
# api/openapi.py).
FIELD_SCHEMAS: dict[type, dict[str, Any]] = {
    TrustedRelay: {
        "type": "object",
        "required": ["name", "publicKey"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "publicKey": {"type": "string", "description": "a relay public key"},
            "description": {"type": ["string", "null"]},
        },
    },
    RateLimit: {
        "type": ["object", "null"],
        "properties": {
            "count": {"type": ["integer", "null"], "minimum": 0, "maximum": INT32_MAX},
            "window": {"type": ["integer", "null"], "minimum": 0, "maximum": 86400},
        },
    },
    ProjectOptions: OPTIONS_SCHEMA,
    **RELEASE_FIELDS,
}

KEY_STATUS = [
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {"type": "string", "enum": ["active", "inactive"]},
    }
]
AT_POSITION = [
    {
        "in": "query",
        "name": "at_position",
        "required": False,
        "description": "The options as they were right after this log position.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
]
CONFIG_VERSION = [
    {
        "in": "query",
        "name": "version",
        "required": False,
        "schema": {"type": "string", "enum": ["1", "2", "3"]},
    }
]
READINESS = {
    "type": "object",
    "properties": {"ready": {"type": "boolean"}, "reasons": {"type": "array", "items": {"type": "string"}}},
    "required": ["ready", "reasons"],
}

DOCS: dict[str, Doc] = {
    # ---- operations
    "ops.healthz": Doc(
        "Health of the event store, the views and Redis",
        {200: out.Health, 503: out.Health},
        auth=PUBLIC,
    ),
    "ops.readyz": Doc(
        "Whether the views can be trusted: 503 with the reasons (parked events, missing views)",
        {200: READINESS, 503: READINESS},
        auth=PUBLIC,
    ),
    "ops.metrics": Doc("Prometheus metrics", {200: {"type": "string"}}, auth=PUBLIC, ok_media="text/plain"),
    "ops.api_root": Doc(
        "The API root sentry-cli's `info` reads: the token's scopes",
        {200: out.ApiRoot},
        auth=OPTIONAL_BEARER,
    ),
    "openapi.document": Doc("This OpenAPI document", {200: ANY_OBJECT}, auth=PUBLIC),
    # ---- metric blocking, projects, options
    "metrics.metrics_visibility": Doc(
        "Block or unblock a metric or its tags",
        {200: out.MetricVisibility},
        body=MetricVisibilitySchema,
        writes=True,
        errors=(404,),
    ),
    "projects.get_options": Doc(
        "The project's options, now or at a past log position",
        {200: OPTIONS_BODY},
        query=AT_POSITION,
        reads=True,
    ),
    "projects.get_project": Doc("A project's details", {200: out.ProjectDetails}, reads=True),
    "projects.update_project": Doc(
        "Update a project's name, slug, platform and options",
        {200: out.ProjectDetails},
        body=ProjectUpdateSchema,
        reads=True,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "projects.delete_project": Doc(
        "Delete a project (its slug is free again, its keys are no longer served)",
        {204: None},
        reads=True,
        writes=True,
    ),
    "project_keys.list_project_keys": Doc(
        "The project's client keys (DSNs)",
        {200: {"type": "array", "items": out.ProjectKey}},
        query=KEY_STATUS,
        reads=True,
    ),
    "project_keys.create_project_key": Doc(
        "Create a client key",
        {201: out.ProjectKey},
        body=KeyCreateSchema,
        reads=True,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "project_keys.get_project_key": Doc("A client key by its public key", {200: out.ProjectKey}, reads=True),
    "project_keys.update_project_key": Doc(
        "Rename, enable or disable a client key, or set its rate limit",
        {200: out.ProjectKey},
        body=KeyUpdateSchema,
        reads=True,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "project_keys.delete_project_key": Doc("Delete a client key", {204: None}, reads=True, writes=True),
    # ---- organizations
    "organizations.get_organization": Doc(
        "An organization's details", {200: out.OrganizationDetails}, reads=True
    ),
    "organizations.update_organization": Doc(
        "Update an organization's settings",
        {200: out.OrganizationDetails},
        body=OwnerOrganizationSchema,
        reads=True,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
        description="Tokens with `org:admin` may also set `defaultRole` and `cancelDeletion` "
        f"(the other fields are those of `{OrganizationSchema.__name__}`).",
    ),
    "organizations.list_organization_projects": Doc(
        "The organization's projects", {200: {"type": "array", "items": out.ProjectSummary}}, reads=True
    ),
    "organizations.create_project": Doc(
        "Create a project (with a default client key)",
        {201: out.ProjectSummary},
        body=ProjectCreateSchema,
        reads=True,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "organizations.get_organization_options": Doc(
        "The organization's options as stored", {200: OPTIONS_BODY}, reads=True
    ),
    "audit.audit_logs": Doc(
        "The organization's audit log, newest first",
        {200: out.AuditLog},
        query=AuditQuerySchema,
        reads=True,
        paginated=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    # ---- relays
    "relays.register_challenge": Doc(
        "Relay registration, step 1: a challenge for the relay's key",
        {200: out.RelayChallenge},
        body=RelayChallengeRequest,
        auth=RELAY,
        errors=(400, 403),
        bad_request=DETAIL_OR_FIELDS,
    ),
    "relays.register_response": Doc(
        "Relay registration, step 2: the signed challenge registers the relay",
        {200: out.RelayRegistered},
        body=RelayResponseRequest,
        auth=RELAY,
        errors=(400, 401, 409),
        bad_request=DETAIL_OR_FIELDS,
    ),
    "relays.live": Doc("Relay liveness check", {200: out.RelayLive}, auth=RELAY, errors=(400, 401)),
    "relay_configs.project_configs": Doc(
        "Project configs for Relay, by public key (versions 2, 3) or project id (version 1)",
        {200: out.ProjectConfigs},
        body=ProjectConfigsRequest,
        query=CONFIG_VERSION,
        auth=RELAY,
        errors=(400, 401, 403),
    ),
    # ---- uploads
    "uploads.chunk_upload_options": Doc(
        "Chunk upload settings (what sentry-cli reads first)", {200: out.ChunkUploadOptions}
    ),
    "uploads.upload_chunks": Doc(
        "Upload chunks (multipart `file` / `file_gzip` parts, named by their SHA-1)",
        {200: None},
        body=CHUNK_UPLOAD_FORM,
        media="multipart/form-data",
        bad_request=(UPLOAD, DETAIL),
    ),
    "uploads.assemble_difs": Doc(
        "Assemble debug information files from uploaded chunks",
        {200: {"type": "object", "additionalProperties": out.AssembleState}},
        body=DIF_SCHEMA,
        bad_request=(UPLOAD,),
    ),
    "uploads.assemble_artifact_bundle": Doc(
        "Assemble an artifact bundle (source maps) from uploaded chunks",
        {200: out.AssembleState},
        body=BUNDLE_SCHEMA,
        bad_request=(UPLOAD,),
    ),
    **RELEASE_DOCS,
}
