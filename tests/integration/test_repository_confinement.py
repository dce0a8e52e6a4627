"""Repositories are confined to their organization (issue 10, finding 2): a repository is read
only inside the directories the operator allowed the organization (``EVENTRY_GIT_ROOTS``,
by default ``$EVENTRY_DATA_DIR/git/{org_id}``), and a location serves one repository, so no
organization reads another's commits, authors or e-mails, and a credential cannot be
bypassed by registering the same repository again. Everything is sent as a client would."""

from __future__ import annotations

import dataclasses
import email
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from commands.releases import AddRepository
from commands.users import SetUserEmail
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.git_roots import roots_for
from tests.cli import fails, run
from tests.conftest import OPERATOR, Tenant, make_tenant
from tests.integration.test_fetch_commits import (
    SCOPES,
    Repo,
    commits_of,
    eventually,
    job_client,
    new_release,
)

__all__ = ["job_client"]  # the fixture: a test client with the job runner of ``services``

ROOT_OF_THE_CHECKOUT = Path(__file__).resolve().parents[2]
OUTSIDE = {
    "error_type": "validation",
    "errors": {
        "__all__": "This location is outside the directories this server allows for the "
        "organization's repositories."
    },
}
BAD_URL = "Enter a local path or a file:// URL of a git repository."
EXISTS = {"errors": {"__all__": "A repository with that name already exists"}}


def post_repo(client: FlaskClient, t: Tenant, url: str, name: str = "acme/app") -> Any:
    return client.post(
        f"/api/0/organizations/{t.org_slug}/repos/",
        json={"provider": "git", "name": name, "url": url},
        headers=t.headers(),
    )


def refused(client: FlaskClient, svc: Services, t: Tenant, url: str, body: dict[str, Any]) -> None:
    head = svc.store.head()
    r = post_repo(client, t, url, name="evil/steal")
    assert (r.status_code, r.get_json()) == (400, body), url
    assert svc.store.head() == head, f"{url} appended"


def default_root(settings: Settings, t: Tenant) -> Path:
    return settings.data_dir / "git" / str(t.org_id)


def test_by_default_an_organization_reads_only_its_own_directory(
    job_client: FlaskClient, services: Services, tmp_path: Path
) -> None:
    client, settings = job_client, services.settings
    acme, evil = make_tenant(services, scopes=SCOPES), make_tenant(services, scopes=SCOPES)
    upstream = Repo(default_root(settings, acme) / "app")
    head = upstream.commit("secret fix by acme")
    assert post_repo(client, acme, upstream.path.as_uri()).status_code == 201

    evil_root = default_root(settings, evil)
    evil_root.mkdir(parents=True)
    (evil_root / "link").symlink_to(upstream.path)
    (evil_root / "plain").mkdir()
    no_repo = {
        "error_type": "validation",
        "errors": {"__all__": "Unable to find a git repository at this location"},
    }
    for url, body in (
        (upstream.path.as_uri(), OUTSIDE),  # another organization's repository
        (str(upstream.path), OUTSIDE),
        (f"{evil_root}/../{acme.org_id}/app", OUTSIDE),  # .. resolved
        ((evil_root / "link").as_uri(), OUTSIDE),  # symlinks resolved
        (ROOT_OF_THE_CHECKOUT.as_uri(), OUTSIDE),  # the server's own checkout
        ("file:///etc", OUTSIDE),
        ((evil_root / "plain").as_uri(), no_repo),  # inside its own root: it may learn that much
        (f"file://elsewhere{upstream.path}", {"url": [BAD_URL]}),
        ("http://[::1/x", {"url": [BAD_URL]}),
        (f"file://{evil_root}/a%00b", OUTSIDE),
        (
            f"{evil_root}/{'n' * 300}",
            {"error_type": "validation", "errors": {"__all__": f"{'n' * 300} is not a directory"}},
        ),
        ("relative/path", {"url": ["The path of the repository must be absolute."]}),
    ):
        refused(client, services, evil, url, body)

    # nothing of acme's reaches evil: no repository to name in a ref, no commit in any list
    r = client.post(
        f"/api/0/organizations/{evil.org_slug}/releases/",
        json={
            "version": "1.0",
            "projects": [evil.project_slug],
            "refs": [{"repository": "acme/app", "commit": head}],
        },
        headers=evil.headers(),
    )
    assert r.status_code == 400 and r.get_json() == {"refs": ["Invalid repository names: acme/app"]}
    listed = client.get(f"/api/0/organizations/{evil.org_slug}/repos/", headers=evil.headers()).get_json()
    assert listed == []
    new_release(client, acme, "1.0", [{"repository": "acme/app", "commit": head}])
    assert [c["message"] for c in commits_of(client, acme, "1.0", 1)] == ["secret fix by acme"]


@pytest.fixture
def shared(settings: Settings, tmp_path: Path) -> Settings:
    """One root every organization may use (the operator's choice, no ``{org_id}``)."""
    return dataclasses.replace(settings, git_roots=(str(tmp_path / "shared"),))


@pytest.fixture
def shared_services(shared: Settings) -> Iterator[Services]:
    migrate(shared)
    svc = bootstrap(shared, create_tables=False)
    svc.start_worker()
    yield svc
    svc.close()


def test_a_location_serves_one_repository_in_one_organization(
    shared_services: Services, tmp_path: Path
) -> None:
    svc = shared_services
    client = create_app(svc).test_client()
    acme, evil = make_tenant(svc, scopes=SCOPES), make_tenant(svc, scopes=SCOPES)
    upstream = Repo(tmp_path / "shared" / "app")
    upstream.commit("one", **{"src/main.py": "x"})
    (tmp_path / "shared" / "alias").symlink_to(upstream.path)
    assert post_repo(client, acme, str(upstream.path)).status_code == 201
    for t in (evil, acme):  # another organization, or the same one under another name
        for url in (
            upstream.path.as_uri(),
            f"{upstream.path}/src",  # a subdirectory: git opens the same repository
            str(tmp_path / "shared" / "alias"),
            f"{upstream.path}/.git",
        ):
            refused(client, svc, t, url, EXISTS)
    assert client.get(f"/api/0/organizations/{evil.org_slug}/repos/", headers=evil.headers()).get_json() == []


def test_a_credential_cannot_be_bypassed_by_adding_the_repository_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "EVENTRY_GIT_ROOTS": str(tmp_path / "srv")}
    run(env, "orgs", "create", "acme")
    upstream = Repo(tmp_path / "srv" / "secret")
    upstream.commit("one")
    run(
        env,
        "repos",
        "add",
        "--org",
        "acme",
        "--path",
        str(upstream.path),
        "--credential",
        "S3CRET",
        "acme/secret",
    )
    out = fails(env, "repos", "add", "--org", "acme", "--path", str(upstream.path), "acme/open")
    assert "A repository with that name already exists" in out
    out = fails(env, "repos", "add", "--org", "acme", "--path", str(tmp_path), "acme/up")
    assert "outside the directories this server allows" in out
    listed = json.loads(run(env, "repos", "list", "--org", "acme", "--json"))
    assert [r["name"] for r in listed] == ["acme/secret"]


def test_a_repository_outside_the_roots_is_not_fetched(
    job_client: FlaskClient, services: Services, tmp_path: Path
) -> None:
    """Defence in depth: a repository recorded before its location was refused (or whose root
    the operator removed since) is checked again when its commits are fetched."""
    t = make_tenant(services, scopes=SCOPES)
    services.dispatch(SetUserEmail(t.token_id, t.org_id, "dev@example.com"), OPERATOR)
    elsewhere = Repo(tmp_path / "elsewhere")
    head = elsewhere.commit("not yours")
    config = {"path": str(elsewhere.path)}
    services.dispatch(
        AddRepository(t.org_id, 91, "old/repo", "git", elsewhere.path.as_uri(), config), OPERATOR
    )
    new_release(job_client, t, "1.0", [{"repository": "old/repo", "commit": head}])
    outbox = services.settings.data_dir / "outbox"
    files = eventually(lambda: sorted(outbox.glob("*.eml")) if outbox.exists() else [])
    assert len(files) == 1
    text = email.message_from_bytes(files[0].read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert (
        "Unable to reach the repository old/repo: its location is not allowed for this organization" in text
    )
    r = job_client.get(f"/api/0/organizations/{t.org_slug}/releases/1.0/commits/", headers=t.headers())
    assert r.get_json() == []
    assert str(tmp_path) not in text and os.sep + "elsewhere" not in text


def test_roots_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"EVENTRY_GIT_ROOTS": f"{tmp_path}/a{os.pathsep} {os.pathsep}/srv/git/{{org_id}}/"}
    )
    assert settings.git_roots == (f"{tmp_path}/a", "/srv/git/{org_id}/")
    assert roots_for(settings, 42) == [tmp_path / "a", Path("/srv/git/42")]
    unset = Settings.from_env({"EVENTRY_DATA_DIR": str(tmp_path / "var")})
    assert roots_for(unset, 42) == [tmp_path / "var" / "git" / "42"]
