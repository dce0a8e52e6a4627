"""Chunk upload, black box over HTTP (section 2.3-2.6), on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from events.uploads import BlobOwned, BlobStored, blob_stream
from infra.blobstore import storage_key
from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant, make_token
from tests.integration.uploading import MiB, missing, sha1, upload


def events_of(services: Services, checksum: str) -> list[Any]:
    return [r.event for r in services.store.read_stream(blob_stream(checksum))]


def blob_root(services: Services) -> Path:
    return services.settings.data_dir / "blobs"


def staging_files(services: Services) -> list[str]:
    return os.listdir(blob_root(services) / "tmp")


def test_options_as_sentry_cli_needs_them(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    r = client.get(f"/api/0/organizations/{tenant.org_slug}/chunk-upload/", headers=tenant.headers())
    assert r.status_code == 200
    assert r.get_json() == {
        "url": f"{services.settings.url_prefix}/api/0/organizations/{tenant.org_slug}/chunk-upload/",
        "chunkSize": 8388608,
        "chunksPerRequest": 64,
        "maxFileSize": 2147483648,
        "maxRequestSize": 33554432,
        "concurrency": 8,
        "hashAlgorithm": "sha1",
        "compression": ["gzip"],
        "accept": [
            "debug_files", "release_files", "pdbs", "sources", "bcsymbolmaps", "il2cpp",
            "portablepdbs", "artifact_bundles", "artifact_bundles_v2", "proguard",
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("agent", "relative"),
    [
        ("sentry-cli/3.8.2", True),
        ("sentry-cli/1.70.1 (Linux x86_64)", True),
        ("sentry-cli/10.0.0", True),
        ("sentry-cli/1.70.0", False),
        ("sentry-cli/1.69.99", False),
        ("curl/8.5.0 sentry-cli/3.8.2", False),  # Sentry reads the version only at the start
        ("", False),
    ],
)
def test_the_upload_url_for_each_client(
    client: FlaskClient, services: Services, tenant: Tenant, agent: str, relative: bool
) -> None:
    """Relative for sentry-cli 1.70.1 and later, under EVENTRY_URL_PREFIX otherwise; the
    organization's slug even when the request named it by id."""
    path = f"/api/0/organizations/{tenant.org_slug}/chunk-upload/"
    r = client.get(
        f"/api/0/organizations/{tenant.org_id}/chunk-upload/", headers=tenant.headers(**{"User-Agent": agent})
    )
    assert r.status_code == 200
    expected = (
        f"organizations/{tenant.org_slug}/chunk-upload/" if relative else services.settings.url_prefix + path
    )
    assert r.get_json()["url"] == expected


@pytest.mark.parametrize(
    ("scopes", "get_status", "post_status"),
    [
        (("org:read",), 403, 403),
        (("project:read",), 200, 403),
        (("project:write",), 200, 200),
        (("project:releases",), 200, 200),
    ],
)
def test_scopes(
    client: FlaskClient,
    services: Services,
    tenant: Tenant,
    scopes: tuple[str, ...],
    get_status: int,
    post_status: int,
) -> None:
    token, _ = make_token(services, tenant.org_id, scopes)
    url = f"/api/0/organizations/{tenant.org_slug}/chunk-upload/"
    assert client.get(url, headers=tenant.headers(token)).status_code == get_status
    assert upload(client, tenant, [b"scoped"], token=token).status_code == post_status


def test_another_organizations_path_is_forbidden(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """As Sentry's permission classes answer: 403 for another organization, 404 for none."""
    other = make_tenant(services)
    url = f"/api/0/organizations/{other.org_slug}/chunk-upload/"
    assert client.get(url, headers=tenant.headers()).status_code == 403
    assert (
        client.get("/api/0/organizations/no-such-org/chunk-upload/", headers=tenant.headers()).status_code
        == 404
    )
    assert client.get(url).status_code == 401


def test_no_files_is_an_empty_200(client: FlaskClient, tenant: Tenant) -> None:
    r = client.post(f"/api/0/organizations/{tenant.org_slug}/chunk-upload/", headers=tenant.headers())
    assert r.status_code == 200 and r.data == b""


def test_chunks_are_stored_by_content_and_owned(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    chunks = [os.urandom(1000), os.urandom(2000)]
    checksums = [sha1(c) for c in chunks]
    assert missing(client, tenant, checksums) == checksums
    r = upload(client, tenant, chunks)
    assert r.status_code == 200 and r.data == b""
    assert missing(client, tenant, checksums) == []  # visible at once: sentry-cli asks right away
    for chunk, checksum in zip(chunks, checksums, strict=True):
        assert (blob_root(services) / storage_key(checksum)).read_bytes() == chunk
        assert events_of(services, checksum) == [
            BlobStored(checksum, len(chunk), storage_key(checksum)),
            BlobOwned(checksum, tenant.org_id),
        ]
    assert staging_files(services) == []


def test_gzip_parts_are_checked_decompressed(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    chunk = os.urandom(5000)
    assert upload(client, tenant, [chunk], field="file_gzip").status_code == 200
    assert (blob_root(services) / storage_key(sha1(chunk))).read_bytes() == chunk
    # the name is the sha1 of the decompressed bytes; the compressed bytes' sha1 does not match
    r = upload(client, tenant, [os.urandom(10)], field="file_gzip", names=[sha1(gzip.compress(b"x"))])
    assert (r.status_code, r.get_json()) == (400, {"error": "Checksum mismatch"})


def test_dedupe_within_a_request_and_across_requests(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    chunk = os.urandom(3000)
    assert upload(client, tenant, [chunk, chunk]).status_code == 200
    assert upload(client, tenant, [chunk], field="file_gzip").status_code == 200
    assert events_of(services, sha1(chunk)) == [
        BlobStored(sha1(chunk), 3000, storage_key(sha1(chunk))),
        BlobOwned(sha1(chunk), tenant.org_id),
    ]


def test_a_blob_owned_by_another_organization_is_missing_for_yours(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    other = make_tenant(services)
    chunk = os.urandom(4000)
    assert upload(client, other, [chunk]).status_code == 200
    assert missing(client, other, [sha1(chunk)]) == []
    assert missing(client, tenant, [sha1(chunk)]) == [sha1(chunk)]
    assert upload(client, tenant, [chunk]).status_code == 200
    assert missing(client, tenant, [sha1(chunk)]) == []
    assert events_of(services, sha1(chunk))[1:] == [
        BlobOwned(sha1(chunk), other.org_id),
        BlobOwned(sha1(chunk), tenant.org_id),
    ]  # stored once, owned twice


def zeros_gz(size: int) -> bytes:
    return gzip.compress(bytes(size), 1)


def upload_gz(client: FlaskClient, t: Tenant, sizes: list[int]) -> Any:
    """Parts of zeros (small on the wire, large decompressed), named by their true sha1."""
    parts = [(io.BytesIO(zeros_gz(s)), sha1(bytes(s))) for s in sizes]
    return client.post(
        f"/api/0/organizations/{t.org_slug}/chunk-upload/",
        data={"file_gzip": parts},
        headers=t.headers(),
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([8 * MiB + 1], "Chunk size too large"),
        ([8 * MiB] * 4 + [1], "Request too large"),
        ([1] * 65, "Too many chunks"),
        # Sentry's order: a too-large chunk wins over a too-large request, which wins over the count
        ([8 * MiB] * 4 + [8 * MiB + 1], "Chunk size too large"),
        ([8 * MiB] * 4 + [1] * 61, "Request too large"),
    ],
)
def test_limits_in_sentrys_order(
    client: FlaskClient, services: Services, tenant: Tenant, sizes: list[int], message: str
) -> None:
    r = upload_gz(client, tenant, sizes)
    assert (r.status_code, r.get_json()) == (400, {"error": message})
    assert missing(client, tenant, [sha1(bytes(s)) for s in set(sizes)]) == [
        sha1(bytes(s)) for s in dict.fromkeys(sizes)
    ]
    assert staging_files(services) == []


def test_uncompressed_limits(client: FlaskClient, tenant: Tenant) -> None:
    r = upload(client, tenant, [bytes(8 * MiB + 1)])
    assert (r.status_code, r.get_json()) == (400, {"error": "Chunk size too large"})
    r = upload(client, tenant, [bytes(8 * MiB)] * 4 + [b"x"])
    assert (r.status_code, r.get_json()) == (400, {"error": "Request too large"})


def test_a_checksum_mismatch_stores_nothing(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    good, bad = os.urandom(100), os.urandom(100)
    r = upload(client, tenant, [good, bad], names=[sha1(good), sha1(b"something else")])
    assert (r.status_code, r.get_json()) == (400, {"error": "Checksum mismatch"})
    assert events_of(services, sha1(good)) == []
    assert not (blob_root(services) / storage_key(sha1(good))).exists()
    assert staging_files(services) == []


def test_a_gzip_bomb_is_refused_after_one_chunk(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    bomb = zeros_gz(256 * MiB)  # 256 MiB of zeros in ~250 KiB
    r = client.post(
        f"/api/0/organizations/{tenant.org_slug}/chunk-upload/",
        data={"file_gzip": [(io.BytesIO(bomb), sha1(bytes(8 * MiB)))]},
        headers=tenant.headers(),
        content_type="multipart/form-data",
    )
    assert (r.status_code, r.get_json()) == (400, {"error": "Chunk size too large"})
    assert staging_files(services) == []


def test_broken_gzip_is_a_400(client: FlaskClient, tenant: Tenant) -> None:
    r = client.post(
        f"/api/0/organizations/{tenant.org_slug}/chunk-upload/",
        data={"file_gzip": [(io.BytesIO(b"not gzip at all"), "a" * 40)]},
        headers=tenant.headers(),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "gzip" in r.get_json()["error"].lower()


def test_a_body_past_the_limit_is_refused_unread(client: FlaskClient, tenant: Tenant) -> None:
    r = client.post(
        f"/api/0/organizations/{tenant.org_slug}/chunk-upload/",
        data=b"x" * (36 * MiB),
        headers=tenant.headers(),
        content_type="multipart/form-data; boundary=b",
    )
    assert (r.status_code, r.get_json()) == (400, {"error": "Request too large"})


def test_one_chunk_uploaded_twice_at_once_is_stored_once(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    app = client.application
    chunks = [os.urandom(256 * 1024) for _ in range(6)]
    results: list[int] = []

    def send(chunk: bytes, barrier: threading.Barrier) -> None:
        c = app.test_client()
        barrier.wait()
        results.append(upload(c, tenant, [chunk]).status_code)

    for chunk in chunks:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=send, args=(chunk, barrier)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 12
    for chunk in chunks:
        checksum = sha1(chunk)
        assert events_of(services, checksum) == [
            BlobStored(checksum, len(chunk), storage_key(checksum)),
            BlobOwned(checksum, tenant.org_id),
        ]
        assert (blob_root(services) / storage_key(checksum)).read_bytes() == chunk
    stored = [p for p in blob_root(services).rglob("*") if p.is_file()]
    assert len(stored) == len(chunks)  # no orphaned file, no temporary file left


@pytest.mark.parametrize(
    "cut",
    [
        lambda body: body[: len(body) // 2],  # the connection ends mid-part
        lambda body: body.replace(b"--bnd--", b"--bnd"),  # no closing boundary
        lambda body: body.replace(b"Content-Disposition", b"Content-Dispositio"),  # a part without one
    ],
)
def test_a_body_that_is_not_its_multipart_stores_nothing(
    client: FlaskClient, services: Services, tenant: Tenant, cut: Any
) -> None:
    """Read as a stream, a broken multipart body is found only part way through: whatever was
    staged before is dropped, nothing is recorded, and the answer is not a 5xx."""
    chunk = os.urandom(3 * MiB)
    head = (
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n\r\n' % sha1(chunk).encode()
    )
    body = head + chunk + b"\r\n" + head + chunk + b"\r\n--bnd--\r\n"
    position = services.store.head()
    response = client.post(
        f"/api/0/organizations/{tenant.org_slug}/chunk-upload/",
        data=cut(body),
        headers=tenant.headers(**{"Content-Type": "multipart/form-data; boundary=bnd"}),
    )
    assert response.status_code == 200
    assert services.store.head() == position and events_of(services, sha1(chunk)) == []
    assert staging_files(services) == [] and missing(client, tenant, [sha1(chunk)]) == [sha1(chunk)]
