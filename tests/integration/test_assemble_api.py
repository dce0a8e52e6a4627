"""DIF and artifact bundle assembly (section 2.7-2.9), black box, with the job runner running."""

from __future__ import annotations

import io
import json
import os
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.assemble import job_runner
from infra.bootstrap import Services
from projections.uploads import find_artifact_bundle
from tests.conftest import Tenant, make_tenant
from tests.integration.uploading import missing, poll, sha1, upload

MiB = 1024 * 1024


@pytest.fixture
def jobs(services: Services) -> Iterator[None]:
    runner = job_runner(services)
    thread = runner.start()
    yield
    runner.shutdown(thread)


@pytest.fixture(scope="session")
def elf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real debug file: a C program built with ``gcc -g``."""
    src = tmp_path_factory.mktemp("elf") / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    subprocess.run(["gcc", "-g", "-o", str(src.with_suffix("")), str(src)], check=True)
    return src.with_suffix("")


@pytest.fixture
def elf(elf_path: Path) -> bytes:
    return elf_path.read_bytes()


def difs(client: FlaskClient, t: Tenant, body: Any, raw: bytes | None = None) -> Any:
    url = f"/api/0/projects/{t.org_slug}/{t.project_slug}/files/difs/assemble/"
    if raw is not None:
        return client.post(url, data=raw, headers=t.headers(), content_type="application/json")
    return client.post(url, json=body, headers=t.headers())


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


SHA = "a" * 40


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"lol": "test"}, "'lol' does not match any of the regexes: '^[0-9a-f]{40}$'"),
        ({SHA: "test"}, "'test' is not of type 'object'"),
        ({SHA: {}}, "'name' is a required property"),
        ({SHA: {"name": "x", "chunks": ["nope"]}}, "'nope' does not match '^[0-9a-f]{40}$'"),
        ([], "[] is not of type 'object'"),
    ],
)
def test_dif_assemble_validation(client: FlaskClient, tenant: Tenant, body: Any, error: str) -> None:
    r = difs(client, tenant, body)
    assert (r.status_code, r.get_json()) == (400, {"error": error})


def test_dif_assemble_invalid_json(client: FlaskClient, tenant: Tenant) -> None:
    r = difs(client, tenant, None, raw=b"{nope")
    assert (r.status_code, r.get_json()) == (400, {"error": "Invalid json body"})


def test_dif_assemble_flow(client: FlaskClient, tenant: Tenant, jobs: None, elf_path: Path) -> None:
    elf = elf_path.read_bytes()
    chunks = split(elf, 4096)
    checksum = sha1(elf)
    body = {checksum: {"name": "hello", "chunks": [sha1(c) for c in chunks]}}
    assert difs(client, tenant, {checksum: {"name": "hello", "chunks": []}}).get_json() == {
        checksum: {"state": "not_found", "missingChunks": []}
    }
    assert difs(client, tenant, body).get_json() == {
        checksum: {"state": "not_found", "missingChunks": [sha1(c) for c in chunks]}
    }
    assert upload(client, tenant, chunks[:2]).status_code == 200
    assert difs(client, tenant, body).get_json()[checksum]["missingChunks"] == [sha1(c) for c in chunks[2:]]
    assert upload(client, tenant, chunks[2:], field="file_gzip").status_code == 200
    first = difs(client, tenant, body).get_json()[checksum]
    assert first["state"] in ("created", "assembling", "ok") and first["missingChunks"] == []
    done = poll(lambda: difs(client, tenant, body).get_json()[checksum], lambda a: a["state"] == "ok")
    assert done["state"] == "ok" and done["detail"] is None and done["missingChunks"] == []
    dif = done["dif"]
    assert dif["objectName"] == "hello" and dif["cpuName"] == "x86_64" and dif["sha1"] == checksum
    assert dif["symbolType"] == "elf" and dif["size"] == len(elf)
    assert dif["data"] == {"type": "lib", "features": ["debug", "symtab", "unwind"]}
    notes = subprocess.run(["readelf", "-n", str(elf_path)], capture_output=True, text=True, check=True)
    build_id = notes.stdout.split("Build ID: ")[1].split()[0]
    assert dif["codeId"] == build_id
    assert dif["debugId"] == dif["uuid"] == str(uuid.UUID(bytes_le=bytes.fromhex(build_id)[:16]))
    # A known file answers ok at once, even with its chunks omitted (Sentry's "already exists").
    again = difs(client, tenant, {checksum: {"name": "hello", "chunks": []}}).get_json()[checksum]
    assert again["state"] == "ok" and again["dif"]["sha1"] == checksum


def test_dif_assemble_errors(client: FlaskClient, tenant: Tenant, jobs: None) -> None:
    text = os.urandom(3000)
    assert upload(client, tenant, [text]).status_code == 200
    lying = {"b" * 40: {"name": "lies", "chunks": [sha1(text)]}}
    answer = poll(lambda: difs(client, tenant, lying).get_json()["b" * 40], lambda a: a["state"] == "error")
    assert answer == {"state": "error", "detail": "Reported checksum mismatch", "missingChunks": []}
    not_elf = {sha1(text): {"name": "random.bin", "chunks": [sha1(text)]}}
    answer = poll(
        lambda: difs(client, tenant, not_elf).get_json()[sha1(text)], lambda a: a["state"] == "error"
    )
    # symbolic's error for bytes of no known format, under Sentry's prefix for its errors
    assert answer["detail"] == "Invalid debug information file: unsupported object file format"


def test_dif_assemble_needs_the_organizations_own_chunks(
    client: FlaskClient, services: Services, tenant: Tenant, elf: bytes
) -> None:
    other = make_tenant(services)
    assert upload(client, other, [elf]).status_code == 200
    assert missing(client, tenant, [sha1(elf)]) == [sha1(elf)]


def bundle(files: dict[str, bytes], manifest: dict[str, Any]) -> bytes:
    """An artifact bundle as sentry-cli builds it: ``SYSB`` and a version, then a zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("manifest.json", json.dumps(manifest))
    return b"SYSB\x02\x00\x00\x00" + out.getvalue()


def bundles(client: FlaskClient, t: Tenant, body: Any) -> Any:
    return client.post(
        f"/api/0/organizations/{t.org_slug}/artifactbundle/assemble/", json=body, headers=t.headers()
    )


V, D, P = (
    'The version field cannot be empty and cannot contain any "/" characters.',
    "The dist field must be a string.",
    "The projects field is required and must be provided as an array of strings.",
)
C = "The checksum field is required and must be a 40-character hexadecimal string."
K = "The chunks field is required and must be provided as an array of 40-character hexadecimal strings."


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"checksum": SHA, "chunks": [], "projects": ["p"], "version": ""}, V),
        ({"checksum": SHA, "chunks": [], "projects": ["p"], "version": "a/b"}, V),
        ({"checksum": SHA, "chunks": [], "projects": ["p"], "dist": 1}, D),
        ({"checksum": SHA, "chunks": [], "projects": "p"}, P),
        ({"checksum": "xyz", "chunks": [], "projects": ["p"]}, C),
        ({"checksum": SHA, "chunks": ["xyz"], "projects": ["p"]}, K),
        ({"checksum": SHA, "chunks": []}, "'projects' is a required property"),
        ({"checksum": SHA, "chunks": [], "projects": ["p"], "extra": 1}, None),
        ({"checksum": SHA, "chunks": [], "projects": []}, "You need to specify at least one project"),
        ({"checksum": SHA, "chunks": [], "projects": ["nope"]}, "One or more projects are invalid"),
    ],
)
def test_bundle_assemble_validation(
    client: FlaskClient, tenant: Tenant, body: Any, error: str | None
) -> None:
    r = bundles(client, tenant, body)
    assert r.status_code == 400
    if error is None:  # jsonschema's own message for an unexpected property
        assert "Additional properties are not allowed" in r.get_json()["error"]
    else:
        assert r.get_json() == {"error": error}


def test_bundle_assemble_flow(client: FlaskClient, services: Services, tenant: Tenant, jobs: None) -> None:
    data = bundle(
        {"files/_/_/app.min.js": b"function a(){}", "files/_/_/app.min.js.map": b"{}"},
        {
            "files": {
                "files/_/_/app.min.js": {"type": "minified_source", "url": "~/app.min.js"},
                "files/_/_/app.min.js.map": {"type": "source_map", "url": "~/app.min.js.map"},
            },
            "debug_id": "5cba525f-82b7-5a6f-9cfe-6c25bc953766",
            "org": tenant.org_slug,
            "release": "1.0.0",
        },
    )
    chunks = split(data, 512)
    body = {
        "checksum": sha1(data),
        "chunks": [sha1(c) for c in chunks],
        "projects": [tenant.project_slug],
        "version": "1.0.0",
    }
    r = bundles(client, tenant, body)
    assert r.get_json() == {"state": "not_found", "missingChunks": [sha1(c) for c in chunks]}
    assert upload(client, tenant, chunks, field="file_gzip").status_code == 200
    dist_alone = bundles(client, tenant, {**body, "version": None, "dist": "web"})
    assert dist_alone.status_code == 400  # null version is not a string
    no_release = {k: v for k, v in body.items() if k != "version"}
    r = bundles(client, tenant, {**no_release, "dist": "web"})
    assert (r.status_code, r.get_json()) == (
        400,
        {"error": "You need to specify a release together with a dist"},
    )
    assert bundles(client, tenant, body).get_json() == {"state": "created", "missingChunks": []}
    done = poll(lambda: bundles(client, tenant, body).get_json(), lambda a: a["state"] == "ok")
    assert done == {"state": "ok", "detail": None, "missingChunks": []}
    with services.engine.read("uploads") as view:
        stored = find_artifact_bundle(view, tenant.org_id, sha1(data))
    assert stored is not None
    assert stored["bundleId"] == "5cba525f-82b7-5a6f-9cfe-6c25bc953766"
    assert stored["fileCount"] == 2 and stored["release"] == "1.0.0"
    assert stored["projectIds"] == [tenant.project_id]


def test_a_broken_bundle_is_an_error(client: FlaskClient, tenant: Tenant, jobs: None) -> None:
    data = b"SYSB\x02\x00\x00\x00 not a zip"
    assert upload(client, tenant, [data]).status_code == 200
    body = {"checksum": sha1(data), "chunks": [sha1(data)], "projects": [str(tenant.project_id)]}
    answer = poll(lambda: bundles(client, tenant, body).get_json(), lambda a: a["state"] == "error")
    assert answer["detail"].startswith("Invalid artifact bundle")


CRASH_SYM = (
    b"MODULE Linux x86_64 67E9247C814E392BA027DBDE6748FCBF0 crash\n"
    b"FILE 0 /tmp/crash.c\n"
    b"FUNC 1130 1f 0 main\n"
    b"1130 1f 4 0\n"
    b"PUBLIC 1130 0 main\n"
    b"STACK CFI INIT 1130 1f .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
)


def assembled(client: FlaskClient, t: Tenant, data: bytes, **file: Any) -> Any:
    """Upload ``data`` as one chunk, ask for its assembly and wait until it is settled."""
    assert upload(client, t, [data]).status_code == 200
    body = {sha1(data): {"chunks": [sha1(data)], **file}}
    return poll(lambda: difs(client, t, body).get_json()[sha1(data)], lambda a: a["state"] in ("ok", "error"))


def test_a_breakpad_file_is_read_with_symbolic(client: FlaskClient, tenant: Tenant, jobs: None) -> None:
    """Sentry's object name drops ``.sym``; a debug id from the client may change only the age."""
    done = assembled(
        client,
        tenant,
        CRASH_SYM,
        name="symbols/crash.sym",
        debug_id="67E9247C-814E-392B-A027-DBDE6748FCBF-1a",
    )
    assert done["state"] == "ok", done
    dif = done["dif"]
    assert (dif["objectName"], dif["symbolType"], dif["cpuName"]) == ("crash", "breakpad", "x86_64")
    assert (dif["uuid"], dif["debugId"]) == (
        "67e9247c-814e-392b-a027-dbde6748fcbf",
        "67e9247c-814e-392b-a027-dbde6748fcbf-1a",
    )
    assert dif["codeId"] is None and dif["headers"] == {"Content-Type": "text/x-breakpad"}
    assert dif["data"] == {"type": "dbg", "features": ["debug", "symtab", "unwind"]}


def test_a_client_debug_id_for_another_object_is_ignored(
    client: FlaskClient, tenant: Tenant, jobs: None
) -> None:
    done = assembled(
        client, tenant, CRASH_SYM, name="crash.sym", debug_id="00000000-814e-392b-a027-dbde6748fcbf"
    )
    assert done["dif"]["debugId"] == "67e9247c-814e-392b-a027-dbde6748fcbf"


def test_a_debug_companion(client: FlaskClient, tenant: Tenant, jobs: None, elf_path: Path) -> None:
    """``objcopy --only-keep-debug``: symbolic's kind ``dbg``, ELF's content type."""
    companion = elf_path.with_suffix(".debug")
    subprocess.run(["objcopy", "--only-keep-debug", str(elf_path), str(companion)], check=True)
    dif = assembled(client, tenant, companion.read_bytes(), name="hello.debug")["dif"]
    assert dif["data"] == {"type": "dbg", "features": ["debug", "symtab"]}
    assert (
        dif["headers"] == {"Content-Type": "application/x-elf-binary"} and dif["objectName"] == "hello.debug"
    )


def test_a_bcsymbolmap_needs_its_debug_id(client: FlaskClient, tenant: Tenant, jobs: None) -> None:
    data = b"BCSymbolMap Version: 2.0\n_main\n_helper\n"
    assert assembled(client, tenant, data, name="a.bcsymbolmap") == {
        "state": "error",
        "detail": "Missing debug_id for BCSymbolMap",
        "missingChunks": [],
    }
    other = data + b"_other\n"
    dif = assembled(client, tenant, other, name="a.bcsymbolmap", debug_id="C8374B6D6E9634D8AE38EFAA5FEC424F")[
        "dif"
    ]
    assert (dif["debugId"], dif["symbolType"], dif["cpuName"]) == (
        "c8374b6d-6e96-34d8-ae38-efaa5fec424f",
        "bcsymbolmap",
        "any",
    )
    assert dif["data"] == {} and dif["headers"] == {"Content-Type": "application/x-bcsymbolmap"}
