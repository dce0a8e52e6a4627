"""``eventry projects create|list|delete`` and ``eventry keys list`` on the embedded default,
against the same state as HTTP."""

from __future__ import annotations

import json

from api.app import create_app
from infra.bootstrap import bootstrap
from infra.config import Settings
from tests.cli import fails, run
from tests.conftest import make_token


def test_projects_and_keys(env: dict[str, str]) -> None:
    run(env, "migrate")
    run(env, "orgs", "create", "acme")
    project = json.loads(run(env, "projects", "create", "--org", "acme", "Web App", "--platform", "python"))
    assert "Invalid platform" in fails(env, "projects", "create", "--org", "acme", "x", "--platform", "cobol")

    [key] = json.loads(run(env, "keys", "list", "--org", "acme", "--project", "web-app", "--json"))
    assert key["label"] == "Default" and key["isActive"] is True
    assert key["dsn"]["public"] == f"http://{key['public']}@127.0.0.1:8000/{project['id']}"
    table = run(env, "keys", "list", "--org", "acme", "--project", str(project["id"]))
    assert key["dsn"]["public"] in table and "Default" in table

    # the key the CLI made is the one HTTP serves
    [org] = json.loads(run(env, "orgs", "list", "--json"))
    svc = bootstrap(Settings.from_env(env))
    try:
        token, _ = make_token(svc, org["id"], ("project:read",))
        served = (
            create_app(svc)
            .test_client()
            .get("/api/0/projects/acme/web-app/keys/", headers={"Authorization": f"Bearer {token}"})
        )
        assert [k["public"] for k in served.get_json()] == [key["public"]]
    finally:
        svc.close()

    assert "pending deletion" in run(env, "projects", "delete", "--org", "acme", "web-app")
    listed = json.loads(run(env, "projects", "list", "--org", "acme", "--json"))
    assert [p["status"] for p in listed] == ["pending_deletion"] and listed[0]["slug"] != "web-app"
    assert "not found" in fails(env, "keys", "list", "--org", "acme", "--project", "web-app")
    assert "not found" in fails(env, "projects", "delete", "--org", "acme", "web-app")
    again = json.loads(run(env, "projects", "create", "--org", "acme", "Web App"))
    assert again["slug"] == "web-app"  # the slug was freed
    audit = run(env, "audit", "--org", "acme", "--event", "project.remove", "--json")
    assert json.loads(audit)["note"] == "removed project web-app"
