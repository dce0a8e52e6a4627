"""The repository provider for git repositories on this machine (a path or ``file://`` URL),
run with the ``git`` command. ``compare_commits`` answers like Sentry's providers: the
commits after ``start`` up to ``end``, newest first, as ``set_commits`` takes them.

Only repositories inside the organization's allowed roots are read (``infra.git_roots``),
checked again on every fetch: the path, and the git directory git would open from it.
A repository may require the fetching user's identity (config ``credential_sha256``): the
user's linked ``git`` identity must carry that credential, else the identity is invalid.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.git_roots import OutsideRoots, confine

PROVIDER = "git"
MAX_COMMITS_WITHOUT_START = 20  # what Sentry's providers return when no previous commit is known
MAX_COMMITS = 10_000
GIT_TIMEOUT = 60
# NUL ends every field: git allows it in no message, name, e-mail or path, so anything else passes.
LOG_FORMAT = "--format=%H%x00%an%x00%ae%x00%at%x00%B%x00"
HEADER_FIELDS = 5
SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
STATUS = re.compile(r"\n?([A-Z])[0-9]*")
NOT_ALLOWED = "its location is not allowed for this organization"


class ProviderError(Exception):
    """Sentry's ``PluginError``: the user is mailed this message."""


class InvalidIdentity(ProviderError):
    """The provider refused the user's identity; it is deleted and the user told."""

    def __init__(self, message: str, identity: tuple[int, str] | None) -> None:
        super().__init__(message)
        self.identity = identity  # (user id, provider)


def _git(path: Path, *args: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(path), "-c", "core.quotepath=off", "-c", "i18n.logOutputEncoding=UTF-8", *args],
        capture_output=True,
        timeout=GIT_TIMEOUT,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/nonexistent"},
    )
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise ProviderError(stderr.splitlines()[-1] if stderr else "git failed")
    return done.stdout


def repository_dir(path: Path, roots: Sequence[Path]) -> Path:
    """The object store git reads from ``path`` (its common git directory), resolved, if both
    are inside ``roots``: a path inside the roots can still lead git elsewhere (a ``.git`` file,
    a worktree, discovery upwards). ``OutsideRoots`` or ``ProviderError`` otherwise."""
    path = confine(path, roots)
    try:
        is_dir = path.is_dir()
    except OSError:  # a name too long, a directory we may not enter
        is_dir = False
    if not is_dir:
        raise ProviderError(f"{path.name or path} is not a directory")
    try:
        common = _git(path, "rev-parse", "--git-common-dir").decode("utf-8", "surrogateescape").strip()
    except ProviderError:
        raise ProviderError("Unable to find a git repository at this location") from None
    return confine(path / common, roots)


def _verify(path: Path, sha: str) -> str:
    try:
        return _git(path, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").decode().strip()
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
    *,
    roots: Sequence[Path],
) -> list[dict[str, Any]]:
    _check_identity(repo, user_id, identities or {})
    path = Path(repo["config"].get("path") or "/nonexistent")
    try:
        repository_dir(path, roots)
    except OutsideRoots:
        raise ProviderError(f"Unable to reach the repository {repo['name']}: {NOT_ALLOWED}") from None
    except ProviderError as exc:
        raise ProviderError(f"Unable to reach the repository {repo['name']}: {exc}") from None
    path = confine(path, roots)
    end = _verify(path, end_sha)
    if start_sha:
        span = [f"{_verify(path, start_sha)}..{end}", f"--max-count={MAX_COMMITS}"]
    else:
        span = [end, f"--max-count={MAX_COMMITS_WITHOUT_START}"]
    log = _git(path, "log", "-z", "--no-renames", "--name-status", LOG_FORMAT, *span, "--")
    return [_commit(repo["name"], *fields) for fields in parse_log(log)]


def parse_log(log: bytes) -> Iterator[tuple[list[str], list[tuple[str, str]]]]:
    """``git log -z --name-status`` with ``LOG_FORMAT``: per commit its header fields and its
    (status, path) pairs. Each header ends with an empty field; file entries follow until the
    next commit's hash (a status is one capital letter, never a hash)."""
    fields = [f.decode("utf-8", "replace") for f in log.split(b"\0")]
    i = 0
    while i + HEADER_FIELDS < len(fields) and SHA.fullmatch(fields[i]):
        header, i = fields[i : i + HEADER_FIELDS], i + HEADER_FIELDS + 1
        files: list[tuple[str, str]] = []
        while i + 1 < len(fields) and (status := STATUS.fullmatch(fields[i])):
            files.append((status.group(1), fields[i + 1]))
            i += 2
        yield header, files


def _timestamp(seconds: str) -> str | None:
    try:
        return datetime.fromtimestamp(int(seconds), UTC).isoformat()
    except (ValueError, OverflowError, OSError):  # a date git takes but a datetime cannot hold
        return None


def _commit(repository: str, header: list[str], files: list[tuple[str, str]]) -> dict[str, Any]:
    sha, name, email, when, message = header
    commit = {
        "id": sha,
        "repository": repository,
        "author_name": name or None,
        "author_email": email or None,
        "message": message.rstrip("\n"),
        "patch_set": [{"path": path, "type": kind} for kind, path in files if kind in "ADM"],
    }
    timestamp = _timestamp(when)
    return commit if timestamp is None else {**commit, "timestamp": timestamp}
