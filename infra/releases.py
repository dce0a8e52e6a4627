"""What a SetCommits needs from outside the decider, shared by the API and the fetch job:
fresh repository ids, the groups its messages reference, and Sentry's commit lock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from commands import Conflict
from commands.groupreference import parse_short_id, references_in
from commands.release_commits import CommitsInput, RepositoriesState
from commands.releases import ReleaseState
from events.releases import release_stream, repositories_stream
from projections.directory import find_project
from projections.groups import group_by_short_id, group_ids

COMMIT_LOCK_SECONDS = 600  # Sentry's newest duration; released in ``finally`` long before
COMMITS_BUSY = "Release commits are currently being processed"
REPOSITORY_ID_KEY = "repository_snowflake_key"


class ReleaseCommitError(Conflict):
    """Another request or job is setting this release's commits (Sentry's lock is busy)."""


def release_state(svc: Any, organization_id: int, version: str) -> ReleaseState:
    """The release as its own (small) stream says now, without waiting for a view."""
    return ReleaseState.fold(r.event for r in svc.store.read_stream(release_stream(organization_id, version)))


def commits_input(svc: Any, organization_id: int, commits: Sequence[Mapping[str, Any]]) -> CommitsInput:
    repos = RepositoriesState.fold(
        r.event for r in svc.store.read_stream(repositories_stream(organization_id))
    )
    default = f"organization-{organization_id}"
    new_names = {c.get("repository") or default for c in commits} - set(repos.by_name)
    ids = tuple(svc.snowflake(REPOSITORY_ID_KEY) for _ in new_names)
    url_prefix = svc.settings.url_prefix
    found = references_in((c.get("message") for c in commits), url_prefix)
    return CommitsInput(tuple(commits), ids, tuple(_resolve(svc, organization_id, found).items()), url_prefix)


def _resolve(svc: Any, organization_id: int, found: set[str]) -> dict[str, int]:
    """References -> group ids of this organization (``by_qualified_short_id``, issue URLs)."""
    resolved: dict[str, int] = {}
    if not found:
        return resolved
    # Issues created just before the commits that fix them must be found: catch up first (bounded).
    svc.engine.wait(svc.store.head(), ["directory", "groups"], timeout=svc.settings.read_wait_timeout)
    with svc.engine.read("directory") as directory:
        short = {}
        for ref in found:
            parsed = None if ref.startswith("#") else parse_short_id(ref)
            project = find_project(directory, organization_id, parsed[0]) if parsed else None
            if parsed and project is not None and not parsed[0].isdigit():
                short[ref] = (project.id, parsed[1])
    with svc.engine.read("groups") as groups:
        for ref, (project_id, number) in short.items():
            group_id = group_by_short_id(groups, project_id, number)
            if group_id is not None:
                resolved[ref] = group_id
        by_id = {int(r[1:]): r for r in found if r.startswith("#")}
        for group_id in group_ids(groups, organization_id, list(by_id)):
            resolved[by_id[group_id]] = group_id
    return resolved


@contextmanager
def commit_lock(redis: Any, organization_id: int, release_id: int) -> Iterator[None]:
    """``releasecommits:{org}:{release}``: taken without waiting, released in ``finally``
    (only by its owner), with a TTL so a dead holder cannot block the release for ever."""
    key = f"releasecommits:{organization_id}:{release_id}"
    token = uuid.uuid4().hex
    if not redis.set(key, token, nx=True, ex=COMMIT_LOCK_SECONDS):
        raise ReleaseCommitError(COMMITS_BUSY)
    try:
        yield
    finally:
        current = redis.get(key)
        if current is not None and (current.decode() if isinstance(current, bytes) else current) == token:
            redis.delete(key)
