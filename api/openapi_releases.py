"""OpenAPI entries of the releases, repositories and issues routes (``api/openapi_docs.py``
merges them): request bodies are ``api/release_schemas.py``'s, responses ``api/response_schemas.py``'s."""

from __future__ import annotations

from typing import Any

from api import response_schemas as out
from api.openapi import DETAIL, FIELDS, Doc
from api.release_schemas import (
    Commits,
    DateTime,
    DeploySchema,
    OrganizationReleaseSchema,
    OwnerField,
    ProjectReleaseSchema,
    ReleaseSchema,
    RepositorySchema,
    Status,
    Url,
)
from api.routes.issues import IssueSchema
from commands.releases import STATUSES

DETAIL_OR_FIELDS = (DETAIL, FIELDS)
NULLABLE_STRING = {"type": ["string", "null"]}

COMMIT = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "repository": {**NULLABLE_STRING, "maxLength": 64},
        "message": NULLABLE_STRING,
        "author_name": {**NULLABLE_STRING, "maxLength": 128},
        "author_email": {**NULLABLE_STRING, "maxLength": 75},
        "timestamp": {**NULLABLE_STRING, "format": "date-time"},
        "patch_set": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": ["path", "type"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "maxLength": 510},
                    "type": {"type": "string", "enum": ["A", "D", "M"]},
                },
            },
        },
    },
}

RELEASE_FIELDS: dict[type, dict[str, Any]] = {
    DateTime: {"type": "string", "format": "date-time"},
    Status: {"type": "string", "enum": sorted(STATUSES)},
    Commits: {"type": "array", "items": COMMIT},
    OwnerField: {"description": "no owner can be set here (no user accounts): any value is refused"},
    Url: {"format": "uri"},
}


def _array(item: Any) -> dict[str, Any]:
    return {"type": "array", "items": item}


PAGE = [
    {
        "in": "query",
        "name": "per_page",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {"in": "query", "name": "cursor", "required": False, "schema": {"type": "string"}},
]
QUERY = [{"in": "query", "name": "query", "required": False, "schema": {"type": "string"}}]
RELEASE_LIST_QUERY = [
    *PAGE,
    *QUERY,
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {"type": "string", "enum": ["open", "archived", ""]},
    },
    {"in": "query", "name": "sort", "required": False, "schema": {"type": "string", "enum": ["date"]}},
    {
        "in": "query",
        "name": "project",
        "required": False,
        "schema": {"type": "array", "items": {"type": "integer"}},
        "style": "form",
        "explode": True,
    },
]
REPO_LIST_QUERY = [
    *PAGE,
    *QUERY,
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {
            "type": "string",
            "enum": ["active", "disabled", "hidden", "pending_deletion", "deletion_in_progress", ""],
        },
    },
]

RELEASE_DOCS: dict[str, Doc] = {
    "releases.create_organization_release": Doc(
        "Create a release for some of the organization's projects (208 when it already exists)",
        {201: out.Release, 208: out.Release},
        body=OrganizationReleaseSchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "releases.create_project_release": Doc(
        "Create a release of this project (208 when it already exists)",
        {201: out.Release, 208: out.Release},
        body=ProjectReleaseSchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "releases.list_organization_releases": Doc(
        "The organization's releases, newest first",
        {200: _array(out.Release)},
        query=RELEASE_LIST_QUERY,
        reads=True,
        paginated=True,
    ),
    "releases.list_project_releases": Doc(
        "The project's releases, newest first",
        {200: _array(out.Release)},
        query=PAGE + QUERY,
        reads=True,
        paginated=True,
    ),
    "releases.get_release": Doc("A release", {200: out.Release}),
    "releases.update_release": Doc(
        "Update a release: finalize, refs, commits, archive or restore",
        {200: out.Release},
        body=ReleaseSchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "releases.delete_release": Doc("Delete a release", {204: None}, writes=True),
    "releases.release_commits": Doc(
        "The release's commits", {200: _array(out.Commit)}, query=PAGE, reads=True, paginated=True
    ),
    "releases.previous_with_commits": Doc(
        "The newest earlier release with commits (`{}` when there is none)",
        {200: {"anyOf": [out.Release, out.Empty]}},
        reads=True,
    ),
    "releases.create_deploy": Doc(
        "Record a deploy of the release",
        {201: out.Deploy},
        body=DeploySchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "releases.list_deploys": Doc(
        "The release's deploys", {200: _array(out.Deploy)}, query=PAGE, reads=True, paginated=True
    ),
    "repositories.list_repositories": Doc(
        "The organization's repositories",
        {200: _array(out.Repository)},
        query=REPO_LIST_QUERY,
        reads=True,
        paginated=True,
    ),
    "repositories.add_repository": Doc(
        "Add a local git repository (an absolute path or file:// URL inside the organization's git roots)",
        {201: out.Repository},
        body=RepositorySchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "issues.create_issue": Doc(
        "Create an issue (an eventry addition: in Sentry events create them)",
        {201: out.IssueCreated},
        body=IssueSchema,
        writes=True,
        bad_request=DETAIL_OR_FIELDS,
    ),
    "issues.get_issue": Doc("An issue's status", {200: out.Issue}, reads=True),
    "issues.issue_activity": Doc("An issue's activity", {200: out.IssueActivity}, reads=True),
    "issues.issue_history": Doc(
        "An issue's status history (an eventry addition)", {200: _array(out.HistoryRow)}, reads=True
    ),
}
