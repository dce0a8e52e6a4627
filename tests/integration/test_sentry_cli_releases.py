"""The real sentry-cli (PyPI, 3.8.2) managing releases against a live ``eventry serve``, on the
embedded default and on PostgreSQL + Redis with ``eventry worker``; the state it leaves is
checked through the API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.test_fetch_commits import Repo, git
from tests.integration.test_sentry_cli_uploads import SENTRY_CLI, Server, _eventry, server

__all__ = ["server"]  # the fixture: embedded, and PostgreSQL + Redis with a worker


def api(s: Server, path: str) -> Any:
    request = urllib.request.Request(
        f"{s.url}/api/0/organizations/acme/{path}",
        headers={"Authorization": f"Bearer {s.env['SENTRY_AUTH_TOKEN']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def ok(s: Server, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [SENTRY_CLI, *args], env=s.env, capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, f"sentry-cli {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout + done.stderr


def eventually(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def commit_ids(s: Server, version: str, count: int) -> list[str]:
    def probe() -> list[str]:
        rows = [c["id"] for c in api(s, f"releases/{version}/commits/")]
        return rows if len(rows) == count else []

    ids = eventually(probe)
    assert ids, f"{version} never got {count} commits: {api(s, f'releases/{version}/commits/')}"
    return list(ids)


def test_sentry_cli_release_lifecycle(server: Server, tmp_path: Path) -> None:
    s = server
    org_id = json.loads(_eventry(s.env, tmp_path, "orgs", "list", "--json"))[0]["id"]
    upstream = Repo(tmp_path / "var" / "git" / str(org_id) / "upstream")  # the organization's default root
    shas = [upstream.commit(f"commit {i}") for i in range(5)]
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(upstream.path), str(checkout))
    env = {**s.env}
    _eventry(env, tmp_path, "repos", "add", "--org", "acme", "--path", str(upstream.path), "owner/repo")

    ok(s, "releases", "new", "1.0.0")
    ok(s, "releases", "new", "1.1.0+build.7", "--finalize")
    assert api(s, "releases/1.1.0%2Bbuild.7/")["dateReleased"].endswith("Z")

    # --commit owner/repo@sha: refs, fetched by the job from the git repository
    ok(s, "releases", "set-commits", "1.0.0", "--commit", f"owner/repo@{shas[1]}")
    assert commit_ids(s, "1.0.0", 2) == [shas[1], shas[0]]
    # --commit owner/repo@a..b: exactly the range
    ok(s, "releases", "set-commits", "1.1.0+build.7", "--commit", f"owner/repo@{shas[1]}..{shas[3]}")
    assert commit_ids(s, "1.1.0%2Bbuild.7", 2) == [shas[3], shas[2]]

    # --local in a real checkout: the CLI reads git and sends the commits itself
    ok(s, "releases", "new", "2.0.0")
    ok(s, "releases", "set-commits", "2.0.0", "--local", cwd=checkout)
    local = api(s, "releases/2.0.0/commits/")
    assert [c["id"] for c in local] == [shas[4]]  # what came after 1.1.0's last commit
    assert local[0]["author"]["email"] == "dev@example.com" and local[0]["repository"]["name"] == "origin"

    # --auto in the checkout (its origin matches the repository's URL): only what is new since 2.0.0
    newest = upstream.commit("commit 5")
    git(checkout, "pull", "-q")
    ok(s, "releases", "new", "3.0.0")
    ok(s, "releases", "set-commits", "3.0.0", "--auto", cwd=checkout)
    assert commit_ids(s, "3.0.0", 1) == [newest]

    ok(s, "releases", "finalize", "1.0.0")
    assert api(s, "releases/1.0.0/")["dateReleased"] is not None
    ok(s, "releases", "deploys", "1.0.0", "new", "-e", "production")
    deploys = api(s, "releases/1.0.0/deploys/")
    assert [d["environment"] for d in deploys] == ["production"] and deploys[0]["dateFinished"].endswith("Z")
    assert "production" in ok(s, "releases", "deploys", "1.0.0", "list")

    listed = ok(s, "releases", "list")
    assert "1.0.0" in listed and "2.0.0" in listed
    info = ok(s, "releases", "info", "1.0.0", "--show-commits")
    assert "1.0.0" in info and shas[1][:12] in info

    ok(s, "releases", "archive", "1.0.0")
    assert api(s, "releases/1.0.0/")["status"] == "archived"
    assert "1.0.0" not in [r["version"] for r in api(s, "releases/")]
    ok(s, "releases", "restore", "1.0.0")
    assert api(s, "releases/1.0.0/")["status"] == "open"
    assert api(s, "releases/1.0.0/")["deployCount"] == 1
