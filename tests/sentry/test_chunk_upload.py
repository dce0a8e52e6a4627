"""Port of Sentry's tests/sentry/api/endpoints/test_chunk_upload.py.

Sentry version: getsentry/sentry at 008027ab8b22fc40f4ff5957c3db756d15e39fac; the constants
(``MAX_CHUNKS_PER_REQUEST`` 64, ``MAX_REQUEST_SIZE`` 32 MiB, ``MAX_CONCURRENCY`` 8,
``SENTRY_CHUNK_UPLOAD_BLOB_SIZE`` 8 MiB, ``system.maximum-file-size`` 2 GiB, ``MAX_FILE_SIZE``
2^32, ``CHUNK_UPLOAD_ACCEPT``) are Sentry's own. Choice: the newest ``CHUNK_UPLOAD_ACCEPT`` also
lists ``preprod_artifacts`` and ``dartsymbolmap``, whose assemble endpoints eventry does not
serve; a server must not advertise uploads it cannot assemble, so the list asserted is Sentry's
up to ``proguard``.
Sentry's ``system.url-prefix`` is eventry's ``EVENTRY_URL_PREFIX`` (``settings.url_prefix``).
Left out: the ``system.upload-url-prefix`` and ``hybrid_cloud.use_region_specific_upload_url``
overrides (options eventry does not have). ``FileBlob`` rows are observed the way sentry-cli
observes them: a DIF assemble naming the chunks lists the ones the organization lacks.
"""

from __future__ import annotations

import dataclasses
import io
from hashlib import sha1
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.integration.uploading import missing
from tests.sentry.projects_support import (
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    token_for,
    with_features,
)

MiB = 1024 * 1024
MAX_CHUNKS_PER_REQUEST = 64
MAX_REQUEST_SIZE = 32 * MiB
MAX_CONCURRENCY = 8
HASH_ALGORITHM = "sha1"
CHUNK_UPLOAD_BLOB_SIZE = 8 * MiB
MAXIMUM_FILE_SIZE = 2 * 1024 * MiB  # options.get("system.maximum-file-size")
MAX_FILE_SIZE = 2**32  # sentry.models.files.utils.MAX_FILE_SIZE
API_PREFIX = "/api/0"
CHUNK_UPLOAD_ACCEPT = [
    "debug_files",
    "release_files",
    "pdbs",
    "sources",
    "bcsymbolmaps",
    "il2cpp",
    "portablepdbs",
    "artifact_bundles",
    "artifact_bundles_v2",
    "proguard",
]


@pytest.fixture
def ctx(services: Services, owner: Tenant) -> Tenant:
    """Sentry's setUp: an organization and a ``project:write`` token."""
    return dataclasses.replace(owner, token=token_for(services, owner, "project:write"))


def url(t: Tenant) -> str:
    return f"/api/0/organizations/{t.org_slug}/chunk-upload/"


def get(client: FlaskClient, t: Tenant, token: str | None = None, **headers: str) -> Any:
    return client.get(url(t), headers=t.headers(token, **headers))


def post_files(client: FlaskClient, t: Tenant, files: list[tuple[str, bytes]] | None) -> Any:
    data = {"file": [(io.BytesIO(content), name) for name, content in files]} if files else {}
    return client.post(url(t), data=data, headers=t.headers(), content_type="multipart/form-data")


def test_chunk_upload__ChunkUploadTest__test_chunk_parameters(
    client: FlaskClient, services: Services, ctx: Tenant
) -> None:
    """Sentry: ChunkUploadTest.test_chunk_parameters"""
    response = get(client, ctx)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["chunkSize"] == CHUNK_UPLOAD_BLOB_SIZE
    assert data["chunksPerRequest"] == MAX_CHUNKS_PER_REQUEST
    assert data["maxRequestSize"] == MAX_REQUEST_SIZE
    assert data["maxFileSize"] == MAXIMUM_FILE_SIZE
    assert data["concurrency"] == MAX_CONCURRENCY
    assert data["hashAlgorithm"] == HASH_ALGORITHM
    assert data["url"] == services.settings.url_prefix + url(ctx)
    assert data["accept"] == CHUNK_UPLOAD_ACCEPT


def test_chunk_upload__ChunkUploadTest__test_relative_url_support(
    client: FlaskClient, services: Services, ctx: Tenant
) -> None:
    """Sentry: ChunkUploadTest.test_relative_url_support"""
    relative = url(ctx).lstrip(API_PREFIX)
    # >= 1.70.1
    for agent in ("sentry-cli/1.70.1", "sentry-cli/2.77.4", "sentry-cli/2.20.5"):
        assert get(client, ctx, **{"User-Agent": agent}).get_json()["url"] == relative
    # < 1.70.1
    for agent in ("sentry-cli/1.70.0", "sentry-cli/0.69.3"):
        response = get(client, ctx, **{"User-Agent": agent})
        assert response.get_json()["url"] == services.settings.url_prefix + url(ctx)


def test_chunk_upload__ChunkUploadTest__test_large_uploads(
    client: FlaskClient, services: Services, ctx: Tenant
) -> None:
    """Sentry: ChunkUploadTest.test_large_uploads"""
    with_features(services, "organizations:large-debug-files")
    response = get(client, ctx)
    assert response.get_json()["maxFileSize"] == MAX_FILE_SIZE


def test_chunk_upload__ChunkUploadTest__test_wrong_api_token(
    client: FlaskClient, services: Services, ctx: Tenant
) -> None:
    """Sentry: ChunkUploadTest.test_wrong_api_token (Sentry's token has the made-up scope
    ``org:org``, which eventry will not grant; ``org:read`` is as far from a release scope)"""
    response = get(client, ctx, token_for(services, ctx, "org:read"))
    assert response.status_code == 403, response.get_json()


def test_chunk_upload__ChunkUploadTest__test_upload(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_upload"""
    data1 = b"1 this is my testString"
    data2 = b"2 this is my testString"
    checksum1 = sha1(data1).hexdigest()
    checksum2 = sha1(data2).hexdigest()
    assert missing(client, ctx, [checksum1, checksum2]) == [checksum1, checksum2]

    response = post_files(client, ctx, [(checksum1, data1), (checksum2, data2)])
    assert response.status_code == 200, response.get_json()
    assert missing(client, ctx, [checksum1, checksum2]) == []


def test_chunk_upload__ChunkUploadTest__test_empty_upload(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_empty_upload"""
    response = post_files(client, ctx, None)
    assert response.status_code == 200


def test_chunk_upload__ChunkUploadTest__test_too_many_chunks(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_too_many_chunks"""
    content = b"x"
    files = [(sha1(content).hexdigest(), content) for _ in range(MAX_CHUNKS_PER_REQUEST + 1)]
    response = post_files(client, ctx, files)
    assert response.status_code == 400, response.get_json()


def test_chunk_upload__ChunkUploadTest__test_too_large_request(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_too_large_request"""
    content = b"x" * (MAX_REQUEST_SIZE // MAX_CHUNKS_PER_REQUEST)
    files = [(sha1(content).hexdigest(), content) for _ in range(MAX_CHUNKS_PER_REQUEST)]
    response = post_files(client, ctx, files)
    assert response.status_code == 200, response.get_json()

    # We overflow the request here
    files.append((sha1(b"content").hexdigest(), b"content"))
    response = post_files(client, ctx, files)
    assert response.status_code == 400, response.get_json()


def test_chunk_upload__ChunkUploadTest__test_too_large_chunk(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_too_large_chunk"""
    content = b"x" * (CHUNK_UPLOAD_BLOB_SIZE + 1)
    response = post_files(client, ctx, [(sha1(content).hexdigest(), content)])
    assert response.status_code == 400, response.get_json()


def test_chunk_upload__ChunkUploadTest__test_checksum_missmatch(client: FlaskClient, ctx: Tenant) -> None:
    """Sentry: ChunkUploadTest.test_checksum_missmatch"""
    content = b"x" * (CHUNK_UPLOAD_BLOB_SIZE + 1)
    response = post_files(client, ctx, [("wrong checksum", content)])
    assert response.status_code == 400, response.get_json()
