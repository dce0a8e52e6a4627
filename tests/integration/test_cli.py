"""The ``eventry`` command line, on the embedded default and against the same state as HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from api.app import create_app
from infra.bootstrap import bootstrap
from infra.config import Settings
from tests.cli import fails, run


def test_orgs_projects_tokens_and_audit(env: dict[str, str]) -> None:
    run(env, "migrate")
    org = json.loads(run(env, "orgs", "create", "acme", "--name", "Acme Inc"))
    assert org["slug"] == "acme" and org["name"] == "Acme Inc"
    assert "acme" in run(env, "orgs", "list")
    assert "is already in use" in fails(env, "orgs", "create", "acme")
    assert "too short" in fails(env, "orgs", "create", "ab")

    first = json.loads(run(env, "projects", "create", "--org", "acme", "Web App", "--platform", "python"))
    second = json.loads(run(env, "projects", "create", "--org", "acme", "Web App"))
    assert first["slug"] == "web-app" and second["slug"].startswith("web-app-") and len(second["slug"]) == 10
    listed = json.loads(run(env, "projects", "list", "--org", "acme", "--json"))
    assert {p["slug"] for p in listed} == {first["slug"], second["slug"]}
    assert "not found" in fails(env, "projects", "list", "--org", "nope")

    output = run(env, "tokens", "create", "--org", "acme", "--scopes", "project:write,org:write")
    token = output.strip().splitlines()[-1]
    assert token.startswith("sntryu_") and len(token) == 7 + 64
    assert "Invalid scopes" in fails(
        env, "tokens", "create", "--org", "acme", "--scopes", "project:everything"
    )

    settings = Settings.from_env({**env})
    client = create_app(bootstrap(settings)).test_client()
    r = client.put(
        "/api/0/projects/acme/web-app/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": "c:custom/x@none"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200

    everything = run(env, "audit", "--org", "acme")
    assert "metric.block" in everything and "project.create" in everything and "org.create" in everything
    assert "org-auth-token.create" in everything
    lines = [
        json.loads(line)
        for line in run(env, "audit", "--org", "acme", "--event", "metric.block", "--json").splitlines()
    ]
    assert [entry["event"] for entry in lines] == ["metric.block"]
    actor = lines[0]["actor"]["id"]
    assert len(run(env, "audit", "--org", "acme", "--actor", actor, "--json").splitlines()) == 1
    assert run(env, "audit", "--org", "acme", "--since", "2999-01-01", "--json").strip() == ""
    # org.create, two project.create, org-auth-token.create (the token), metric.block
    assert len(run(env, "audit", "--org", "acme", "--since", "1h", "--json").splitlines()) == 5
    assert "--since" in fails(env, "audit", "--org", "acme", "--since", "yesterday-ish")


def test_projections_status_and_rebuild(env: dict[str, str]) -> None:
    run(env, "migrate")
    run(env, "orgs", "create", "acme")
    status = json.loads(run(env, "projections", "status", "--json"))
    assert {row["name"] for row in status} >= {"directory", "project_options", "audit_log", "uploads"}
    rebuilt = run(env, "projections", "rebuild", "audit_log")
    assert "audit_log: generation 2 is active" in rebuilt
    status = {row["name"]: row for row in json.loads(run(env, "projections", "status", "--json"))}
    assert status["audit_log"]["generation"] == 2 and status["audit_log"]["lag"] == 0
    assert "unknown projection" in fails(env, "projections", "rebuild", "nope")


def test_audit_follow_prints_new_entries_as_they_arrive(env: dict[str, str], tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    run(env, "migrate")
    run(env, "orgs", "create", "acme")
    full_env = {**os.environ, **env, "PYTHONPATH": str(root), "EVENTRY_POLL_INTERVAL": "0.01"}
    follower = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "audit", "--org", "acme", "--follow", "--json"],
        env=full_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(follower.stdout.readline())["event"] == "org.create"  # type: ignore[union-attr]
        time.sleep(0.3)
        run(env, "projects", "create", "--org", "acme", "Later")
        entry = json.loads(follower.stdout.readline())  # type: ignore[union-attr]
        assert entry["event"] == "project.create" and entry["data"]["slug"] == "later"
    finally:
        follower.terminate()
        follower.wait(10)


def test_text_that_is_not_unicode_is_refused_and_not_appended(env: dict[str, str]) -> None:
    """A shell passes bytes that are not UTF-8 as lone surrogates (``\\udcff``): no store keeps
    them, so the command says so, with DRF's message, and the log stays as it was."""
    run(env, "migrate")
    out = fails(env, "orgs", "create", "acme", "--name", "A\udcffB")
    assert "Surrogate characters are not allowed: U+DCFF." in out
    assert "Traceback" not in out
    assert "acme" not in run(env, "orgs", "list")
    run(env, "orgs", "create", "acme", "--name", "Acme")
    out = fails(env, "projects", "create", "--org", "acme", "W\udcffeb")
    assert "Surrogate characters are not allowed: U+DCFF." in out
