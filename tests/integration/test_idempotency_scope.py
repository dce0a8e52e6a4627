"""An Idempotency-Key belongs to the token that sent it (issue 10).

Two callers picking the same key (a counter, a date, a request number) must each get their own
outcome: the second is never the first one's cached response, and nothing of one organization's
response reaches another's caller.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant, make_token

KEY = {"Idempotency-Key": "request-1"}
SCOPES = ("project:read", "project:write")


def keys_url(t: Tenant) -> str:
    return f"/api/0/projects/{t.org_slug}/{t.project_slug}/keys/"


def new_key(client: FlaskClient, t: Tenant, token: str, name: str) -> tuple[int, dict[str, object], bool]:
    response = client.post(keys_url(t), json={"name": name}, headers=t.headers(token, **KEY))
    return response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed") == "true"


def test_one_key_from_two_tokens_of_one_organization(client: FlaskClient, services: Services) -> None:
    t = make_tenant(services, scopes=SCOPES)
    other, _ = make_token(services, t.org_id, SCOPES)
    status, first, replayed = new_key(client, t, t.token, "first")
    assert (status, replayed) == (201, False)

    status, second, replayed = new_key(client, t, other, "first")  # the very same request
    assert (status, replayed) == (201, False)
    assert second["id"] != first["id"] and second["public"] != first["public"]

    # each token's repeat is its own first outcome
    assert new_key(client, t, t.token, "first") == (201, first, True)
    assert new_key(client, t, other, "first") == (201, second, True)
    listed = client.get(keys_url(t), headers=t.headers())
    assert listed.status_code == 200, listed.get_json()
    assert sorted(k["id"] for k in listed.get_json() if k["name"] == "first") == sorted(
        [first["id"], second["id"]]
    )


def test_one_key_from_two_organizations(client: FlaskClient, services: Services) -> None:
    a, b = make_tenant(services, scopes=SCOPES), make_tenant(services, scopes=SCOPES)
    status, first, _ = new_key(client, a, a.token, "same")
    assert status == 201
    status, second, replayed = new_key(client, b, b.token, "same")
    assert (status, replayed) == (201, False)
    assert second["projectId"] == b.project_id != first["projectId"]
    assert first["secret"] not in str(second)

    # a token of one organization cannot reach the other's outcome under the key either
    intruder = client.post(keys_url(a), json={"name": "same"}, headers=b.headers(**KEY))
    assert intruder.status_code in (403, 404) and first["secret"] not in intruder.get_data(as_text=True)
