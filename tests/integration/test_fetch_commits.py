"""Refs fetch commits from real git repositories (sentry-behaviour 4.7, 4.9): the job runs off
the request path; failures mail the user through a real SMTP server on loopback (aiosmtpd),
or into the outbox as .eml files on the embedded default."""

from __future__ import annotations

import dataclasses
import email
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from api.app import create_app
from commands.users import LinkIdentity, SetUserEmail, UserState
from events.releases import ReleaseCommitsRecorded, recorded_commits, release_commits_stream
from events.users import user_stream
from infra.assemble import job_runner
from infra.bootstrap import Services
from infra.config import Settings
from infra.jobs import GROUP, jobs_stream
from tests.conftest import OPERATOR, Tenant, make_tenant, serving
from tests.integration.test_serve import free_port

SCOPES = ("project:releases", "project:write", "org:write", "event:write", "event:read")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.messages[-1]["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def running(settings: Settings) -> Iterator[Services]:
    """Services with the projection worker and the job runner, as ``eventry serve`` runs them."""
    with serving(settings) as svc:
        runner = job_runner(svc)
        thread = runner.start()
        yield svc
        runner.shutdown(thread)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Repositories live under ``tmp_path/git``, the one root these tests allow every organization."""
    return dataclasses.replace(settings, git_roots=(str(tmp_path / "git"),))


@pytest.fixture
def mailing(settings: Settings, smtp: tuple[Mailbox, int]) -> Iterator[Services]:
    yield from running(dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp[1]}"))


def git(path: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev One", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev One", "GIT_COMMITTER_EMAIL": "dev@example.com"}  # fmt: skip
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    done = subprocess.run(
        ["git", "-C", str(path), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


class Repo:
    """A real git repository with a commit per call."""

    def __init__(self, path: Path) -> None:
        self.path, self.count = path, 0
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")

    def commit(self, message: str, **files: str) -> str:
        self.count += 1
        for name, text in (files or {f"file{self.count}.txt": str(self.count)}).items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message, date=f"2024-01-{self.count:02d}T10:00:00+02:00")
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "git" / "upstream")


def add_repo(client: FlaskClient, t: Tenant, path: Path, name: str = "acme/app") -> dict[str, Any]:
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/repos/",
        json={"provider": "git", "name": name, "url": path.as_uri()},
        headers=t.headers(),
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def new_release(client: FlaskClient, t: Tenant, version: str, refs: list[dict[str, Any]]) -> Any:
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/releases/",
        json={"version": version, "projects": [t.project_slug], "refs": refs},
        headers=t.headers(),
    )
    assert r.status_code == 201, r.get_json()
    return r


def eventually(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def commits_of(client: FlaskClient, t: Tenant, version: str, count: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]]:
        r = client.get(f"/api/0/organizations/{t.org_slug}/releases/{version}/commits/", headers=t.headers())
        rows = r.get_json()
        return rows if len(rows) == count else []

    rows = eventually(probe)
    assert rows, f"release {version} never got {count} commits"
    return rows


@pytest.fixture
def t(services: Services) -> Tenant:
    return make_tenant(services, scopes=SCOPES)


@pytest.fixture
def job_client(services: Services) -> Iterator[FlaskClient]:
    runner = job_runner(services)
    thread = runner.start()
    yield create_app(services).test_client()
    runner.shutdown(thread)


def test_two_releases_fetch_the_commits_between_them(job_client: FlaskClient, t: Tenant, repo: Repo) -> None:
    client = job_client
    issue = client.post(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/issues/", json={"title": "Crash"}, headers=t.headers()
    ).get_json()
    c1 = repo.commit("first")
    c2 = repo.commit("second", **{"src/app.py": "v2"})
    add_repo(client, t, repo.path)
    new_release(client, t, "1.0", [{"repository": "acme/app", "commit": c2}])
    assert [c["id"] for c in commits_of(client, t, "1.0", 2)] == [c2, c1]  # no previous release: last commits

    c3 = repo.commit("third")
    c4 = repo.commit("fourth")
    c5 = repo.commit(f"Fix the crash\n\nFixes {issue['shortId']}", **{"src/app.py": "v5", "README": "x"})
    new_release(client, t, "2.0", [{"repository": "acme/app", "commit": c5}])
    rows = commits_of(client, t, "2.0", 3)
    assert [c["id"] for c in rows] == [c5, c4, c3]  # from the previous release's head commit
    assert rows[0]["author"] == {"name": "Dev One", "email": "dev@example.com"}
    assert rows[0]["dateCreated"] == "2024-01-05T08:00:00.000000Z"
    assert rows[0]["repository"]["name"] == "acme/app" and rows[0]["repository"]["provider"]["id"] == "git"

    details = client.get(f"/api/0/organizations/{t.org_slug}/releases/2.0/", headers=t.headers()).get_json()
    assert details["commitCount"] == 3 and details["lastCommit"]["id"] == c5
    previous = client.get(
        f"/api/0/organizations/{t.org_slug}/releases/2.0/previous-with-commits/", headers=t.headers()
    ).get_json()
    assert previous["version"] == "1.0" and previous["lastCommit"]["id"] == c2

    def resolved() -> dict[str, Any] | None:
        got = client.get(
            f"/api/0/organizations/{t.org_slug}/issues/{issue['id']}/", headers=t.headers()
        ).get_json()
        return got if got["status"] == "resolved" else None

    got = eventually(resolved)
    assert got and got["statusDetails"] == {"inRelease": "2.0"} and got["inbox"] is None


def test_a_backlog_of_fetch_jobs_gives_each_release_its_own_range(
    client: FlaskClient, services: Services, t: Tenant, repo: Repo
) -> None:
    """Sentry's ``set_refs`` picks the previous release when the refs are set and hands its id
    to the task: a job that runs late (here both run after both releases exist) must not take
    a release made after its refs were set as the start of its range."""
    c1, c2 = repo.commit("first"), repo.commit("second")
    add_repo(client, t, repo.path)
    new_release(client, t, "1.0", [{"repository": "acme/app", "commit": c2}])
    c3, c4 = repo.commit("third"), repo.commit("fourth")
    new_release(client, t, "2.0", [{"repository": "acme/app", "commit": c4}])
    assert services.engine.wait(services.store.head(), ["releases"], timeout=20)  # both jobs queued
    runner = job_runner(services)
    thread = runner.start()
    try:
        assert [c["id"] for c in commits_of(client, t, "1.0", 2)] == [c2, c1]  # nothing before it
        assert [c["id"] for c in commits_of(client, t, "2.0", 2)] == [c4, c3]  # from 1.0's head
    finally:
        runner.shutdown(thread)


def raw_commit(path: Path, message: bytes, files: dict[str, str], day: int) -> str:
    """A commit made with exactly these bytes (``--cleanup=verbatim``: git keeps the message)."""
    when = f"2024-02-{day:02d}T10:00:00Z".encode()
    env = {**os.environb, b"GIT_AUTHOR_NAME": b"Dev One", b"GIT_AUTHOR_EMAIL": b"dev@example.com",
           b"GIT_COMMITTER_NAME": b"Dev One", b"GIT_COMMITTER_EMAIL": b"dev@example.com",
           b"GIT_AUTHOR_DATE": when, b"GIT_COMMITTER_DATE": when}  # fmt: skip
    for name, text in files.items():
        (path / name).write_text(text)
    (path.parent / "message").write_bytes(message)
    flags = [] if files else ["--allow-empty"]
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(path),
            "commit",
            "-q",
            "--cleanup=verbatim",
            *flags,
            "-F",
            str(path.parent / "message"),
        ],
        env=env,
        check=True,
    )
    return git(path, "rev-parse", "HEAD")


def with_raw_author(path: Path, author: bytes) -> str:
    """HEAD rewritten: its author is odd@example.com, named by exactly these bytes (``git commit``
    would convert them to UTF-8; a repository imported from elsewhere may hold any)."""
    body = subprocess.run(
        ["git", "-C", str(path), "cat-file", "commit", "HEAD"], capture_output=True, check=True
    )
    raw = re.sub(
        rb"^author [^>]*>", b"author " + author + b" <odd@example.com>", body.stdout, count=1, flags=re.M
    )
    made = subprocess.run(
        ["git", "-C", str(path), "hash-object", "-w", "-t", "commit", "--stdin"],
        input=raw,
        capture_output=True,
    )
    git(path, "update-ref", "HEAD", made.stdout.decode().strip())
    return made.stdout.decode().strip()


def test_any_message_author_and_path_git_accepts_comes_through(
    job_client: FlaskClient, services: Services, t: Tenant, repo: Repo
) -> None:
    """Fields are split on NUL, the one byte git allows in none of them (finding 10: a message
    holding U+001F was split apart and the fetch failed)."""
    odd_paths = {"with space.txt": "1", "new\nline.txt": "2", "tab\there.txt": "3", "A": "4", "M": "5",
                 "0123456789abcdef0123456789abcdef01234567": "6", "ünï.txt": "7"}  # fmt: skip
    c1 = raw_commit(repo.path, b"Add odd paths", odd_paths, day=1)
    message = "Fix\x1fthe\x1eparser\x01\x7f\x1b[0m\n\nbody\r\nsecond\tline  \n\n\n"
    c2 = raw_commit(repo.path, message.encode(), {}, day=2)
    raw_commit(repo.path, b"Latin-1 author", {"with space.txt": "changed"}, day=3)
    c3 = with_raw_author(repo.path, b"Ren\xe9 \xff One")
    add_repo(job_client, t, repo.path)
    new_release(job_client, t, "1.0", [{"repository": "acme/app", "commit": c3}])
    rows = commits_of(job_client, t, "1.0", 3)
    assert [c["id"] for c in rows] == [c3, c2, c1]
    assert [c["message"] for c in rows] == ["Latin-1 author", message.rstrip("\n"), "Add odd paths"]
    assert rows[0]["author"] == {"name": "Ren\ufffd \ufffd One", "email": "odd@example.com"}
    recorded = [r.event for r in services.store.read_stream(release_commits_stream(t.org_id, "1.0"))]
    assert isinstance(recorded[-1], ReleaseCommitsRecorded)
    files = {c["id"]: sorted(tuple(p) for p in c["patch_set"]) for c in recorded_commits(recorded[-1])}
    assert files == {c1: sorted((p, "A") for p in odd_paths), c2: [], c3: [("with space.txt", "M")]}


def test_a_range_ref_fetches_exactly_the_range(job_client: FlaskClient, t: Tenant, repo: Repo) -> None:
    c1, c2, c3, _ = (repo.commit(f"c{i}") for i in range(4))
    add_repo(job_client, t, repo.path)
    r = job_client.put(
        f"/api/0/organizations/{t.org_slug}/releases/1.0/", json={"refs": []}, headers=t.headers()
    )
    assert r.status_code == 404
    new_release(job_client, t, "1.0", [{"repository": "acme/app", "commit": f"{c1}..{c3}"}])
    assert [c["id"] for c in commits_of(job_client, t, "1.0", 2)] == [c3, c2]


def test_refs_to_unknown_repositories_are_refused(client: FlaskClient, t: Tenant) -> None:
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/releases/",
        json={
            "version": "1.0",
            "projects": [t.project_slug],
            "refs": [{"repository": "no/pe", "commit": "a" * 40}],
        },
        headers=t.headers(),
    )
    assert r.status_code == 400 and r.get_json() == {"refs": ["Invalid repository names: no/pe"]}
    assert (
        client.get(f"/api/0/organizations/{t.org_slug}/releases/1.0/", headers=t.headers()).status_code == 404
    )
    for commit, message in (
        ("..b", "Commit cannot begin or end with .."),
        ("a" * 65, "Commit too long - max is 64 chars"),
        (f"{'a' * 65}..b", "Start or end commit too long - max is 64 chars each"),
        ("a..b..c", "Commit cannot begin or end with .."),
    ):
        r = client.post(
            f"/api/0/organizations/{t.org_slug}/releases/",
            json={"version": "1.0", "projects": [], "refs": [{"repository": "no/pe", "commit": commit}]},
            headers=t.headers(),
        )
        # Sentry's ListField: the bad ref's errors, not keyed by its index
        assert r.status_code == 400 and r.get_json() == {"refs": {"commit": [message]}}, commit


def test_provider_failures_are_mailed_over_smtp(
    mailing: Services, smtp: tuple[Mailbox, int], repo: Repo
) -> None:
    t = make_tenant(mailing, scopes=SCOPES)
    mailing.dispatch(SetUserEmail(t.token_id, t.org_id, "dev@example.com"), OPERATOR)
    client = create_app(mailing).test_client()
    repo.commit("one")
    add_repo(client, t, repo.path)
    new_release(client, t, "1.0", [{"repository": "acme/app", "commit": "f" * 40}])
    mailbox = smtp[0]
    assert eventually(lambda: mailbox.messages), "no mail arrived"
    message = mailbox.messages[0]
    assert message["Subject"] == "Unable to Fetch Commits" and message["X-Rcpt"] == "dev@example.com"
    text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"for your release (1.0) for repository (acme/app) in the ({t.org_slug}) organization" in text
    assert f"Unable to find commit {'f' * 40} in the repository" in text


def jobs_settled(svc: Services) -> bool:
    """Every job queued so far has been run and acknowledged."""
    stream = jobs_stream(svc.settings)
    if not svc.redis.exists(stream):
        return False
    last = svc.redis.xinfo_stream(stream)["last-generated-id"]
    for group in svc.redis.xinfo_groups(stream):
        if group["name"] in (GROUP, GROUP.encode()):
            return bool(group["pending"] == 0 and group["last-delivered-id"] == last)
    return False


def settle(svc: Services, rounds: int = 3) -> None:
    """Let the views and the job runner go round a few more times after everything they were
    given: a repeated effect (a job queued twice) has run by then."""
    for _ in range(rounds):
        assert svc.engine.wait(svc.store.head(), ["releases"], timeout=20)
        assert eventually(lambda: jobs_settled(svc)), "the job runner never caught up"
        svc.engine.catch_up_all(["releases"])


def test_a_fetch_failure_is_mailed_exactly_once(
    mailing: Services, smtp: tuple[Mailbox, int], repo: Repo
) -> None:
    t = make_tenant(mailing, scopes=SCOPES)
    mailing.dispatch(SetUserEmail(t.token_id, t.org_id, "dev@example.com"), OPERATOR)
    client = create_app(mailing).test_client()
    repo.commit("one")
    add_repo(client, t, repo.path)
    new_release(client, t, "1.0", [{"repository": "acme/app", "commit": "d" * 40}])
    mailbox = smtp[0]
    assert eventually(lambda: mailbox.messages), "no mail arrived"
    settle(mailing)
    assert [m["Subject"] for m in mailbox.messages] == ["Unable to Fetch Commits"]


def test_an_invalid_identity_is_mailed_and_deleted(
    mailing: Services, smtp: tuple[Mailbox, int], repo: Repo, tmp_path: Path
) -> None:
    from api.cli.releases import credential_sha256
    from commands.releases import AddRepository

    t = make_tenant(mailing, scopes=SCOPES)
    mailing.dispatch(SetUserEmail(t.token_id, t.org_id, "dev@example.com"), OPERATOR)
    mailing.dispatch(LinkIdentity(t.token_id, "git", "dev", credential_sha256("revoked")), OPERATOR)
    head = repo.commit("one")
    config = {"path": str(repo.path), "credential_sha256": credential_sha256("current")}
    mailing.dispatch(AddRepository(t.org_id, 77, "acme/private", "git", repo.path.as_uri(), config), OPERATOR)
    client = create_app(mailing).test_client()
    new_release(client, t, "1.0", [{"repository": "acme/private", "commit": head}])
    mailbox = smtp[0]
    assert eventually(lambda: mailbox.messages), "no mail arrived"
    text = mailbox.messages[0].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert mailbox.messages[0]["Subject"] == "Unable to Fetch Commits"
    assert (
        "An identity with a third party service provider (git) failed to authenticate and has been removed"
        in text
    )

    def removed() -> bool:
        user = UserState.fold(r.event for r in mailing.store.read_stream(user_stream(t.token_id)))
        return "git" not in user.identities

    assert eventually(removed)


def test_the_embedded_default_writes_mail_to_the_outbox(
    job_client: FlaskClient, services: Services, repo: Repo
) -> None:
    t = make_tenant(services, scopes=SCOPES)
    services.dispatch(SetUserEmail(t.token_id, t.org_id, "dev@example.com"), OPERATOR)
    repo.commit("one")
    add_repo(job_client, t, repo.path)
    new_release(job_client, t, "1.0", [{"repository": "acme/app", "commit": "e" * 40}])
    outbox = services.settings.data_dir / "outbox"
    files = eventually(lambda: sorted(outbox.glob("*.eml")) if outbox.exists() else [])
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["Subject"] == "Unable to Fetch Commits" and message["To"] == "dev@example.com"
