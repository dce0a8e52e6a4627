"""The repository provider for git repositories on this machine (a path or ``file://`` URL),
run with the ``git`` command. ``compare_commits`` answers like Sentry's providers: the
commits after ``start`` up to ``end``, newest first, as ``set_commits`` takes them.

A repository may require the fetching user's identity (config ``credential_sha256``): the
user's linked ``git`` identity must carry that credential, else the identity is invalid.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROVIDER = "git"
MAX_COMMITS_WITHOUT_START = 20  # what Sentry's providers return when no previous commit is known
MAX_COMMITS = 10_000
GIT_TIMEOUT = 60
FIELD, RECORD = "\x1f", "\x1e"


class ProviderError(Exception):
    """Sentry's ``PluginError``: the user is mailed this message."""


class InvalidIdentity(ProviderError):
    """The provider refused the user's identity; it is deleted and the user told."""

    def __init__(self, message: str, identity: tuple[int, str] | None) -> None:
        super().__init__(message)
        self.identity = identity  # (user id, provider)


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), "-c", "core.quotepath=off", *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/nonexistent"},
    )
    if done.returncode != 0:
        raise ProviderError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed")
    return done.stdout


def _verify(path: Path, sha: str) -> str:
    try:
        return _git(path, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").strip()
    except ProviderError:
        raise ProviderError(f"Unable to find commit {sha} in the repository") from None


def _check_identity(
    repo: Mapping[str, Any], user_id: int | None, identities: Mapping[str, tuple[str, str]]
) -> None:
    wanted = repo["config"].get("credential_sha256")
    if not wanted:
        return
    linked = identities.get(PROVIDER)
    if linked is None or user_id is None:
        raise ProviderError("You still need to associate an identity with Git.")
    if linked[1] != wanted:
        raise InvalidIdentity("Git refused the credential of this identity", (user_id, PROVIDER))


def compare_commits(
    repo: Mapping[str, Any],
    start_sha: str | None,
    end_sha: str,
    user_id: int | None = None,
    identities: Mapping[str, tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    _check_identity(repo, user_id, identities or {})
    path = Path(repo["config"].get("path") or "")
    if not path.is_dir():
        raise ProviderError(f"Unable to reach the repository {repo['name']}: {path} is not a directory")
    end = _verify(path, end_sha)
    if start_sha:
        span = [f"{_verify(path, start_sha)}..{end}", f"--max-count={MAX_COMMITS}"]
    else:
        span = [end, f"--max-count={MAX_COMMITS_WITHOUT_START}"]
    log = _git(
        path,
        "log",
        "--no-renames",
        "--name-status",
        f"--format={RECORD}%H{FIELD}%an{FIELD}%ae{FIELD}%aI{FIELD}%B{FIELD}",
        *span,
    )
    return [_commit(repo["name"], chunk) for chunk in log.split(RECORD)[1:]]


def _commit(repository: str, chunk: str) -> dict[str, Any]:
    sha, name, email, when, message, files = chunk.split(FIELD)
    patch_set = []
    for line in files.strip().splitlines():
        kind, _, filename = line.partition("\t")
        if filename and kind[:1] in "ADM":
            patch_set.append({"path": filename, "type": kind[:1]})
    return {
        "id": sha,
        "repository": repository,
        "author_name": name or None,
        "author_email": email or None,
        "message": message.rstrip("\n"),
        "timestamp": datetime.fromisoformat(when).astimezone(UTC).isoformat(),
        "patch_set": patch_set,
    }
