"""``eventry tokens create|list|revoke|rotate`` as an operator types them, and what the API then
makes of the tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from api.app import create_app
from infra.bootstrap import bootstrap
from infra.config import Settings
from tests.cli import fails, run


def listed(env: dict[str, str]) -> dict[int, dict[str, str]]:
    return {row["id"]: row for row in json.loads(run(env, "tokens", "list", "--org", "acme", "--json"))}


def test_expiry_list_rotation_and_revocation(env: dict[str, str]) -> None:
    run(env, "migrate")
    run(env, "orgs", "create", "acme")
    lasting = run(env, "tokens", "create", "--org", "acme", "--scopes", "org:read", "--label", "ops")
    lasting = lasting.strip().splitlines()[-1]
    brief = run(env, "tokens", "create", "--org", "acme", "--scopes", "org:read", "--expires", "30d")
    assert "expires 20" in brief
    brief = brief.strip().splitlines()[-1]
    assert "lifetime" in fails(
        env, "tokens", "create", "--org", "acme", "--scopes", "org:read", "--expires", "soon"
    )
    assert "lifetime" in fails(
        env, "tokens", "create", "--org", "acme", "--scopes", "org:read", "--expires", "0"
    )

    # A server that caches no token lookups sees the command line's revocations at once (one
    # that does sees them within EVENTRY_LOOKUP_CACHE_SECONDS: test_org_auth_tokens_api.py).
    services = bootstrap(Settings.from_env({**env, "EVENTRY_LOOKUP_CACHE_SECONDS": "0"}))
    client = create_app(services).test_client()
    try:

        def status(token: str) -> int:
            return client.get(
                "/api/0/organizations/acme/", headers={"Authorization": f"Bearer {token}"}
            ).status_code

        assert status(lasting) == status(brief) == 200
        rows = listed(env)
        assert [r["status"] for r in rows.values()] == ["active", "active"]
        assert rows[1]["name"] == "ops" and rows[1]["expires"] == "never" and rows[1]["last_used"] != "never"
        expires = datetime.fromisoformat(rows[2]["expires"])
        assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

        rotated = run(env, "tokens", "rotate", "--org", "acme", "1").strip().splitlines()
        new = rotated[-1]
        assert new.startswith("sntryu_") and new != lasting and "token id 3" in rotated[0]
        assert status(lasting) == 401 and status(new) == 200
        rows = listed(env)
        assert (rows[1]["status"], rows[3]["status"], rows[3]["name"]) == ("revoked", "active", "ops")

        assert "token 2 revoked" in run(env, "tokens", "revoke", "--org", "acme", "2")
        assert status(brief) == 401
        assert "no active token 2" in fails(env, "tokens", "revoke", "--org", "acme", "2")
        assert "no active token 9" in fails(env, "tokens", "rotate", "--org", "acme", "9")
        audit = run(env, "audit", "--org", "acme", "--event", "org-auth-token.remove", "--json").splitlines()
        assert sorted(json.loads(line)["targetObject"] for line in audit) == [1, 2]
    finally:
        services.close()
