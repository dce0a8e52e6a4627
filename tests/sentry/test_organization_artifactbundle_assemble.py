"""Port of Sentry's tests/sentry/api/endpoints/test_organization_artifactbundle_assemble.py.

Sentry version: getsentry/sentry at 00c215d57f6f3fb6716c7a70d7249012b4dd42b0.
Blobs are uploaded through ``chunk-upload`` (Sentry writes ``FileBlob`` and ``FileBlobOwner``
rows); ``self.release`` is made with ``POST /organizations/{org}/releases/``; a project
``status=PENDING_DELETION`` is a project deleted through the API. Sentry's mocked
``assemble_artifacts.apply_async`` arguments are not observable and are left out, as is the
org token's ``date_last_used`` / ``project_last_used_id`` bookkeeping. Tokens with no scopes are
tokens with ``org:read`` only (eventry will not make a token without scopes).
"""

from __future__ import annotations

import dataclasses
from hashlib import sha1
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.sentry.projects_support import (
    artifact_bundle_zip,
    create_project,
    other_tenant,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    token_for,
    upload_chunks,
)


@dataclasses.dataclass
class Ctx:
    owner: Tenant  # the organization and its ``self.project``, with the owner's token
    token: str  # Sentry's ``project:write`` token
    release: str


@pytest.fixture
def ctx(client: FlaskClient, services: Services, owner: Tenant) -> Ctx:
    r = client.post(
        f"/api/0/organizations/{owner.org_slug}/releases/",
        json={"version": "1.0.0", "projects": [owner.project_slug]},
        headers=owner.headers(),
    )
    assert r.status_code == 201, r.get_json()
    return Ctx(owner, token_for(services, owner, "project:write"), "1.0.0")


def post(client: FlaskClient, ctx: Ctx, data: Any, token: str | None = None) -> Any:
    return client.post(
        f"/api/0/organizations/{ctx.owner.org_slug}/artifactbundle/assemble/",
        json=data,
        headers=ctx.owner.headers(token or ctx.token),
    )


def uploaded_bundle(client: FlaskClient, ctx: Ctx) -> str:
    """Sentry's ``create_artifact_bundle_zip`` stored as one owned blob: its checksum (the
    file's and the blob's)."""
    bundle_file = artifact_bundle_zip(ctx.owner.org_slug, ctx.release)
    upload_chunks(client, ctx.owner, [bundle_file])
    return sha1(bundle_file).hexdigest()


def test_organization_artifactbundle_assemble__test_assemble_json_schema(
    client: FlaskClient, ctx: Ctx
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_json_schema"""
    t = ctx.owner
    assert post(client, ctx, {"lol": "test"}).status_code == 400
    checksum = sha1(b"1").hexdigest()
    assert post(client, ctx, {"checksum": "invalid"}).status_code == 400
    assert post(client, ctx, {"checksum": checksum}).status_code == 400
    assert post(client, ctx, {"checksum": checksum, "chunks": []}).status_code == 400
    assert post(client, ctx, {"checksum": checksum, "chunks": [], "projects": []}).status_code == 400
    base = {"checksum": checksum, "chunks": [], "projects": [t.project_id]}
    assert post(client, ctx, base).status_code == 400
    assert post(client, ctx, {**base, "version": "release/1", "dist": "android"}).status_code == 400
    assert post(client, ctx, {**base, "version": "", "dist": "android"}).status_code == 400
    assert post(client, ctx, {**base, "dist": "android"}).status_code == 400

    response = post(client, ctx, {"checksum": checksum, "chunks": [], "projects": [t.project_slug]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "not_found"


def test_organization_artifactbundle_assemble__test_assemble_with_invalid_projects(
    client: FlaskClient, ctx: Ctx
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_with_invalid_projects"""
    total_checksum = uploaded_bundle(client, ctx)
    pending_deletion_project = create_project(client, ctx.owner)
    deleted = client.delete(
        f"/api/0/projects/{ctx.owner.org_slug}/{pending_deletion_project['slug']}/",
        headers=ctx.owner.headers(),
    )
    assert deleted.status_code == 204, deleted.get_json()

    response = post(
        client,
        ctx,
        {
            "checksum": total_checksum,
            "chunks": [total_checksum],
            "projects": [pending_deletion_project["slug"], "myslug", "anotherslug"],
        },
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "One or more projects are invalid"


@pytest.mark.parametrize("form", ["slugs", "ids", "mix"])
def test_organization_artifactbundle_assemble__test_assemble_with_valid_projects(
    client: FlaskClient, ctx: Ctx, form: str
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_with_valid_project_slugs,
    test_assemble_with_valid_project_ids and test_assemble_with_mix_of_slugs_and_ids"""
    projects = [create_project(client, ctx.owner) for _ in range(3 if form == "mix" else 2)]
    if form == "slugs":
        names = [p["slug"] for p in projects]
    elif form == "ids":
        names = [str(p["id"]) for p in projects]
    else:
        names = [projects[0]["slug"], str(projects[1]["id"]), str(projects[2]["id"])]
    total_checksum = uploaded_bundle(client, ctx)
    response = post(client, ctx, {"checksum": total_checksum, "chunks": [total_checksum], "projects": names})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "extra",
    [{}, {"version": "1.0.0"}, {"version": "1.0.0", "dist": "android"}],
    ids=["without_version_and_dist", "with_version_and_no_dist", "with_version_and_dist"],
)
def test_organization_artifactbundle_assemble__test_assemble_with_version_and_dist(
    client: FlaskClient, ctx: Ctx, extra: dict[str, str]
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_without_version_and_dist,
    test_assemble_with_version_and_no_dist and test_assemble_with_version_and_dist (up to the
    mocked task's arguments)"""
    total_checksum = uploaded_bundle(client, ctx)
    response = post(
        client,
        ctx,
        {
            "checksum": total_checksum,
            "chunks": [total_checksum],
            "projects": [ctx.owner.project_slug],
            **extra,
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "created"
    assert set(response.get_json()["missingChunks"]) == set()


def test_organization_artifactbundle_assemble__test_assemble_with_missing_chunks(
    client: FlaskClient, ctx: Ctx
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_with_missing_chunks"""
    bundle_file = artifact_bundle_zip(ctx.owner.org_slug, ctx.release)
    total_checksum = sha1(bundle_file).hexdigest()
    body = {
        "checksum": total_checksum,
        "chunks": [total_checksum],
        "projects": [ctx.owner.project_slug],
        "version": ctx.release,
        "dist": "android",
    }
    response = post(client, ctx, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "not_found"
    assert set(response.get_json()["missingChunks"]) == {total_checksum}

    upload_chunks(client, ctx.owner, [bundle_file])

    response = post(client, ctx, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "created"


def test_organization_artifactbundle_assemble__test_assemble_response(client: FlaskClient, ctx: Ctx) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_response"""
    total_checksum = uploaded_bundle(client, ctx)
    response = post(
        client,
        ctx,
        {"checksum": total_checksum, "chunks": [total_checksum], "projects": [ctx.owner.project_slug]},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "created"


def test_organization_artifactbundle_assemble__test_assemble_org_auth_token(
    client: FlaskClient, services: Services, ctx: Ctx
) -> None:
    """Sentry: OrganizationArtifactBundleAssembleTest.test_assemble_org_auth_token"""
    total_checksum = uploaded_bundle(client, ctx)
    body = {"checksum": total_checksum, "chunks": [total_checksum], "projects": [ctx.owner.project_slug]}

    # right org, wrong permission level
    response = post(client, ctx, body, token_for(services, ctx.owner, "org:read"))
    assert response.status_code == 403

    # wrong org, right permission level (Sentry's token has no scopes; ``org:ci`` is the
    # scope that would be right in the right organization)
    org2 = other_tenant(services)
    response = post(client, ctx, body, token_for(services, org2, "org:ci"))
    assert response.status_code == 403

    # right org, right permission level
    response = post(client, ctx, body, token_for(services, ctx.owner, "org:ci"))
    assert response.status_code == 200
