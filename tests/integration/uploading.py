"""Helpers for the chunk upload and assemble tests: requests shaped as sentry-cli sends them."""

from __future__ import annotations

import gzip
import hashlib
import io
import time
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import Tenant

MiB = 1024 * 1024


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def upload(
    client: FlaskClient,
    t: Tenant,
    chunks: list[bytes],
    field: str = "file",
    names: list[str] | None = None,
    token: str | None = None,
) -> Any:
    names = names or [sha1(c) for c in chunks]
    parts = [
        (io.BytesIO(gzip.compress(c, 1) if field == "file_gzip" else c), name)
        for c, name in zip(chunks, names, strict=True)
    ]
    return client.post(
        f"/api/0/organizations/{t.org_slug}/chunk-upload/",
        data={field: parts},
        headers=t.headers(token),
        content_type="multipart/form-data",
    )


def missing(client: FlaskClient, t: Tenant, chunks: list[str]) -> list[str]:
    """What the organization lacks, asked the way sentry-cli asks: a DIF assemble."""
    checksum = "f" * 40
    r = client.post(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/files/difs/assemble/",
        json={checksum: {"name": "probe", "chunks": chunks}},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()[checksum]
    return body["missingChunks"] if body["state"] == "not_found" else []


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Ask again (as sentry-cli --wait does) until ``done``; the last answer either way."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)
