"""Releases, their commits and deploys, and the organization's repositories.

A release lives on the stream of its (organization, version): get-or-create is race-free.
The bulky commit list of a SetCommits goes on a stream of its own that no decider reads, so
loading a release stays cheap however many commits it was given; the release stream gets
the summary (count, last commit, authors, head commits) in the same append.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from events.base import Event, event, upcaster
from events.streams import NAMESPACE


def release_stream(organization_id: int, version: str) -> UUID:
    return uuid5(NAMESPACE, f"release:{organization_id}:{version}")


def release_commits_stream(organization_id: int, version: str) -> UUID:
    return uuid5(NAMESPACE, f"release-commits:{organization_id}:{version}")


def repositories_stream(organization_id: int) -> UUID:
    return uuid5(NAMESPACE, f"repositories:{organization_id}")


def repository_location_stream(location: str) -> UUID:
    """One stream per repository location (the git directory it reads), across organizations."""
    return uuid5(NAMESPACE, f"repository-location:{location}")


@dataclass(frozen=True)
class ReleaseEvent(Event):
    release_id: int
    organization_id: int
    version: str


@event
@dataclass(frozen=True)
class ReleaseCreated(ReleaseEvent):
    TOPIC = "releases.ReleaseCreated.v1"
    date_added: str
    ref: str | None
    url: str | None
    owner: str | None
    date_released: str | None
    status: str
    user_agent: str


@event
@dataclass(frozen=True)
class ReleaseProjectsAdded(ReleaseEvent):
    """New links to projects; ``activity_project_ids`` got a RELEASE activity dated ``date_released``."""

    TOPIC = "releases.ReleaseProjectsAdded.v1"
    project_ids: tuple[int, ...]
    activity_project_ids: tuple[int, ...]
    date_released: str | None


@event
@dataclass(frozen=True)
class ReleaseUpdated(ReleaseEvent):
    """The release's fields after the update (all of them, so views need no merge)."""

    TOPIC = "releases.ReleaseUpdated.v1"
    ref: str | None
    url: str | None
    date_released: str | None
    status: str
    activity_project_ids: tuple[int, ...]


@event
@dataclass(frozen=True)
class ReleaseCommitsSet(ReleaseEvent):
    """The summary Sentry writes on the release after ``set_commits``. ``head_commits`` maps a
    repository id (as text) to the newest commit of that repository in the list;
    ``last_commit`` is the newest commit as the API shows it, ``authors`` ``{name, email}``."""

    TOPIC = "releases.ReleaseCommitsSet.v1"
    commit_count: int
    last_commit: dict[str, Any] | None
    authors: tuple[dict[str, Any], ...]
    head_commits: dict[str, str]


@event
@dataclass(frozen=True)
class ReleaseCommitsRecorded(ReleaseEvent):
    """The complete commit list, newest first (a commit's index is its order), by column (a
    list of 10,000 dicts cost the append, every read of the log and the view's rows a dict
    each): ``ids``, ``repository_ids``, ``author_emails``, ``author_names``, ``messages``,
    ``timestamps`` (ISO or null), one value per commit; ``unsent_messages``: the indexes of
    commits sent without a ``message`` key (an existing commit keeps its message; null is a
    message sent); the patch sets flat, one value per file: ``file_commits`` (the commit's
    index), ``file_paths``, ``file_types``. Version 1 carried ``commits``, a dict per commit
    (``commit_columns`` reads it)."""

    TOPIC = "releases.ReleaseCommitsRecorded.v2"
    ids: tuple[str, ...]
    repository_ids: tuple[int, ...]
    author_emails: tuple[str | None, ...]
    author_names: tuple[str | None, ...]
    messages: tuple[str | None, ...]
    timestamps: tuple[str | None, ...]
    unsent_messages: tuple[int, ...]
    file_commits: tuple[int, ...]
    file_paths: tuple[str, ...]
    file_types: tuple[str, ...]


def commit_columns(commits: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The columns of ``ReleaseCommitsRecorded`` (v2) from a commit list of version 1's shape:
    each ``{id, repository_id, author_email, author_name, patch_set: [[path, type], ...]}``
    with ``message`` and ``timestamp`` when sent: how v1 is upcast (the decider makes the same
    columns in its own pass over the list)."""
    files = [(i, path, kind) for i, c in enumerate(commits) for path, kind in c.get("patch_set") or ()]
    return {
        "ids": [c["id"] for c in commits],
        "repository_ids": [c["repository_id"] for c in commits],
        "author_emails": [c.get("author_email") for c in commits],
        "author_names": [c.get("author_name") for c in commits],
        "messages": [c.get("message") for c in commits],
        "timestamps": [c.get("timestamp") for c in commits],
        "unsent_messages": [i for i, c in enumerate(commits) if "message" not in c],
        "file_commits": [f[0] for f in files],
        "file_paths": [f[1] for f in files],
        "file_types": [f[2] for f in files],
    }


def recorded_commits(e: ReleaseCommitsRecorded) -> list[dict[str, Any]]:
    """The commit list of version 1's shape again (``commit_columns`` the other way round)."""
    unsent = set(e.unsent_messages)
    commits: list[dict[str, Any]] = [
        {"id": i, "repository_id": r, "author_email": a, "author_name": n, "patch_set": []}
        for i, r, a, n in zip(e.ids, e.repository_ids, e.author_emails, e.author_names, strict=True)
    ]
    for at, (commit, message, timestamp) in enumerate(zip(commits, e.messages, e.timestamps, strict=True)):
        if at not in unsent:
            commit["message"] = message
        if timestamp is not None:
            commit["timestamp"] = timestamp
    for at, path, kind in zip(e.file_commits, e.file_paths, e.file_types, strict=True):
        commits[at]["patch_set"].append([path, kind])
    return commits


@upcaster("releases.ReleaseCommitsRecorded.v1", ReleaseCommitsRecorded.TOPIC)
def _commits_v1(payload: dict[str, Any]) -> dict[str, Any]:
    commits = payload.pop("commits")
    return {**payload, **commit_columns(commits)}


@event
@dataclass(frozen=True)
class ReleaseHeadCommitsSet(ReleaseEvent):
    """``set_refs``: head commits per repository id (as text), and the refs to fetch, if any."""

    TOPIC = "releases.ReleaseHeadCommitsSet.v1"
    head_commits: dict[str, str]
    refs: tuple[dict[str, Any], ...]
    fetch: bool
    user_id: int | None


@event
@dataclass(frozen=True)
class ReleaseDeleted(ReleaseEvent):
    TOPIC = "releases.ReleaseDeleted.v1"


@event
@dataclass(frozen=True)
class DeployCreated(ReleaseEvent):
    TOPIC = "releases.DeployCreated.v1"
    deploy_id: int
    environment: str
    name: str | None
    url: str | None
    date_started: str | None
    date_finished: str
    project_ids: tuple[int, ...]


@event
@dataclass(frozen=True)
class RepositoryAdded(Event):
    """On the organization's repositories stream: names are unique per organization.
    ``provider`` is None for repositories first seen in a commit list; ``config`` holds what
    the provider needs (the local git provider: ``path``)."""

    TOPIC = "releases.RepositoryAdded.v1"
    repository_id: int
    organization_id: int
    name: str
    provider: str | None
    url: str | None
    config: dict[str, Any]


@event
@dataclass(frozen=True)
class RepositoryLocationClaimed(Event):
    """On the location's stream, in the same append as the ``RepositoryAdded`` it belongs to:
    a location serves one repository, so registering it again (in any organization, under
    any name, without the first one's credential) is refused."""

    TOPIC = "releases.RepositoryLocationClaimed.v1"
    location: str
    repository_id: int
    organization_id: int
