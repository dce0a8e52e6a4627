"""Port of Sentry's tests/sentry/api/endpoints/test_dif_assemble.py.

Sentry version: getsentry/sentry at 008027ab8b22fc40f4ff5957c3db756d15e39fac.
Sentry makes ``FileBlob`` rows and ``FileBlobOwner`` rows directly and runs ``assemble_dif``
inline; here blobs are uploaded through ``chunk-upload`` (by another organization where Sentry's
test has a blob without an owner) and the assembly job runner runs, polled as sentry-cli polls.
Left out: the end of ``test_assemble_check`` (it fakes a successful job by writing a
``ProjectDebugFile`` row for bytes that are no debug file) and the ``assemble_file`` /
``FileBlobIndex`` internals at the end of ``test_assemble``.
``crash.sym`` (Sentry's fixture) is a Breakpad symbol file with the same MODULE line.
"""

from __future__ import annotations

import time
from hashlib import sha1
from typing import Any

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.sentry.projects_support import (
    jobs_fixture,  # noqa: F401 (the ``jobs`` fixture)
    other_tenant,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    upload_chunks,
)

CRASH_SYM = (
    b"MODULE Linux x86_64 67E9247C814E392BA027DBDE6748FCBF0 crash\n"
    b"FILE 0 /tmp/crash.c\n"
    b"FUNC 1130 1f 0 main\n"
    b"1130 1f 4 0\n"
    b"PUBLIC 1130 0 main\n"
    b"STACK CFI INIT 1130 1f .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
)


def url(t: Tenant) -> str:
    return f"/api/0/projects/{t.org_slug}/{t.project_slug}/files/difs/assemble/"


def post(client: FlaskClient, t: Tenant, data: Any) -> Any:
    return client.post(url(t), json=data, headers=t.headers())


def settled(client: FlaskClient, t: Tenant, data: Any, checksum: str) -> Any:
    """Ask again, as ``sentry-cli --wait`` does, until the job has finished (bounded)."""
    deadline = time.monotonic() + 20
    while True:
        response = post(client, t, data)
        if response.get_json()[checksum]["state"] in ("ok", "error") or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_dif_assemble__DifAssembleEndpoint__test_assemble_json_schema(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: DifAssembleEndpoint.test_assemble_json_schema"""
    response = post(client, owner, {"lol": "test"})
    assert response.status_code == 400, response.get_json()

    checksum = sha1(b"1").hexdigest()
    response = post(client, owner, {checksum: "test"})
    assert response.status_code == 400, response.get_json()

    response = post(client, owner, {checksum: {}})
    assert response.status_code == 400, response.get_json()

    response = post(client, owner, {checksum: {"name": "dif", "chunks": []}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[checksum]["state"] == "not_found"


def test_dif_assemble__DifAssembleEndpoint__test_assemble_check(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: DifAssembleEndpoint.test_assemble_check (up to the faked job)"""
    content = b"foo bar"
    blobs = [content[0:3], content[3:6], content[6:]]  # ``file1.putfile(fileobj, 3)``
    checksums = [sha1(b).hexdigest() for b in blobs]
    checksum = sha1(content).hexdigest()
    upload_chunks(client, other_tenant(services), blobs)  # the blobs exist, owned by someone else

    # file exists but we have no ownership for the chunks
    response = post(client, owner, {checksum: {"name": "dif", "chunks": checksums}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[checksum]["state"] == "not_found"
    assert set(response.get_json()[checksum]["missingChunks"]) == set(checksums)

    # Now we add ownership to the blob
    upload_chunks(client, owner, blobs)

    # The request will start the job to assemble the file
    response = post(client, owner, {checksum: {"name": "dif", "chunks": checksums}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[checksum]["state"] == "created"
    assert response.get_json()[checksum]["missingChunks"] == []

    not_found_checksum = sha1(b"1").hexdigest()
    response = post(client, owner, {not_found_checksum: {"name": "dif", "chunks": [not_found_checksum]}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[not_found_checksum]["state"] == "not_found"
    assert set(response.get_json()[not_found_checksum]["missingChunks"]) == {not_found_checksum}


def test_dif_assemble__DifAssembleEndpoint__test_assemble(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: DifAssembleEndpoint.test_assemble (up to the scheduled job)"""
    content1, content2, content3 = b"foo", b"bar", b"baz"
    checksum1, checksum2, checksum3 = (sha1(c).hexdigest() for c in (content1, content2, content3))
    total_checksum = sha1(content2 + content1 + content3).hexdigest()

    upload_chunks(client, owner, [content1, content3])
    upload_chunks(client, other_tenant(services), [content2])  # blob2 exists, not ours

    # we make a request now but we are missing ownership for chunk 2
    body = {total_checksum: {"name": "test", "chunks": [checksum2, checksum1, checksum3]}}
    response = post(client, owner, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[total_checksum]["state"] == "not_found"
    assert response.get_json()[total_checksum]["missingChunks"] == [checksum2]

    # we add ownership to chunk 2
    upload_chunks(client, owner, [content2])

    # new request, ownership for all chunks is there but file does not exist yet
    response = post(client, owner, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[total_checksum]["state"] == "created"
    assert response.get_json()[total_checksum]["missingChunks"] == []


def test_dif_assemble__DifAssembleEndpoint__test_dif_response(
    client: FlaskClient, owner: Tenant, jobs: None
) -> None:
    """Sentry: DifAssembleEndpoint.test_dif_response"""
    total_checksum = sha1(CRASH_SYM).hexdigest()
    chunks = [total_checksum]
    upload_chunks(client, owner, [CRASH_SYM])
    body = {total_checksum: {"name": "test.sym", "chunks": chunks}}
    post(client, owner, {total_checksum: {"name": "crash.sym", "chunks": chunks}})  # ``assemble_dif``

    response = settled(client, owner, body, total_checksum)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[total_checksum]["state"] == "ok"
    assert response.get_json()[total_checksum]["dif"]["cpuName"] == "x86_64"
    assert response.get_json()[total_checksum]["dif"]["uuid"] == "67e9247c-814e-392b-a027-dbde6748fcbf"


def test_dif_assemble__DifAssembleEndpoint__test_dif_error_response(
    client: FlaskClient, owner: Tenant, jobs: None
) -> None:
    """Sentry: DifAssembleEndpoint.test_dif_error_response"""
    sym_file = b"fail"
    total_checksum = sha1(sym_file).hexdigest()
    chunks = [total_checksum]
    upload_chunks(client, owner, [sym_file])
    post(client, owner, {total_checksum: {"name": "test.sym", "chunks": chunks}})  # ``assemble_dif``

    response = settled(client, owner, {total_checksum: {"name": "test.sym", "chunks": []}}, total_checksum)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[total_checksum]["state"] == "error"
    assert "unsupported object file format" in response.get_json()[total_checksum]["detail"]
