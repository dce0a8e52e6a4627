"""``Release.set_commits`` and ``set_refs`` as pure functions (sentry-behaviour 4.7, 4.8).

They compute the events; the deciders in ``commands.releases`` call them with the states
the dispatcher loaded. The commit lock (Sentry's ``releasecommits:`` Redis lock) is taken
by the caller around the dispatch: a decider does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Self

from commands.base import Change, FieldErrors, InvalidCommand, State
from commands.groupreference import references
from commands.groups import GroupState
from events import Event
from events.groups import GroupResolvedInCommit, GroupResolvedInRelease, group_stream
from events.releases import (
    ReleaseCommitsRecorded,
    ReleaseCommitsSet,
    RepositoryAdded,
    release_commits_stream,
    release_stream,
    repositories_stream,
)

SKIP_MARKER = "#skipsentry"
MAX_AUTHOR_EMAIL = 75
_EMAIL_FROM_NAME = re.compile(r"[^a-zA-Z0-9\-_\.]*")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RepositoriesState(State):
    """The organization's repositories by name: ``{name: {id, name, provider, url, config}}``."""

    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)

    def evolve(self, event: Event) -> Self:
        if isinstance(event, RepositoryAdded):
            repo = {
                "id": event.repository_id,
                "name": event.name,
                "provider": event.provider,
                "url": event.url,
                "config": event.config,
            }
            return replace(self, by_name={**self.by_name, event.name: repo})
        return self


def truncatechars(value: str, length: int, ellipsis: str = "...") -> str:
    return value[: max(0, length - len(ellipsis))] + ellipsis if len(value) > length else value


def author_email_of(commit: Mapping[str, Any]) -> str | None:
    """Sentry's rule: no email but a name gives ``<name's word characters>@localhost``."""
    email = commit.get("author_email")
    if email is None and commit.get("author_name"):
        email = _EMAIL_FROM_NAME.sub("", commit["author_name"]).lower() + "@localhost"
    if not email:
        return None
    return truncatechars(email, MAX_AUTHOR_EMAIL).lower()


@dataclass(frozen=True)
class CommitsInput:
    """What a command carries to set commits. ``repository_ids``: fresh ids for repositories
    seen for the first time (drawn by the caller, used in order); ``group_refs``: the groups
    the caller found for the references in the messages (reference -> group id)."""

    commits: tuple[Mapping[str, Any], ...]
    repository_ids: tuple[int, ...] = ()
    group_refs: tuple[tuple[str, int], ...] = ()
    url_prefix: str = ""


def set_commits_changes(
    organization_id: int,
    release_id: int,
    version: str,
    given: CommitsInput,
    repos: RepositoriesState,
    groups: Mapping[str, GroupState],
) -> list[Change]:
    """The events of a SetCommits: the commits newest first (no timestamp counts as the epoch,
    ties keep their order), ``#skipsentry`` ones dropped. One pass over them makes the event's
    columns directly (a list of 10,000 commits: no dict per commit on the way)."""
    listed = given.commits
    stamps = [c.get("timestamp") for c in listed]
    dates = [datetime.fromisoformat(t) if t else EPOCH for t in stamps]
    newest_first = sorted(range(len(listed)), key=dates.__getitem__, reverse=True)  # stable
    default_repo = f"organization-{organization_id}"
    known = dict(repos.by_name)
    fresh_ids = list(given.repository_ids)
    changes: list[Change] = []
    authors: dict[str, dict[str, Any]] = {}
    heads: dict[str, str] = {}
    repo_of: dict[str, tuple[int, str]] = {}  # name -> (id, id as text)
    ids: list[str] = []
    repo_ids: list[int] = []
    emails: list[str | None] = []
    names: list[str | None] = []
    messages: list[str | None] = []
    timestamps: list[str | None] = []
    unsent: list[int] = []
    file_commits: list[int] = []
    file_paths: list[str] = []
    file_types: list[str] = []
    for at in newest_first:
        data = listed[at]
        message = data.get("message")
        if message and SKIP_MARKER in message:
            continue
        name = data.get("repository") or default_repo
        repo = repo_of.get(name)
        if repo is None:
            known_repo = known.get(name)
            if known_repo is None:
                if not fresh_ids:
                    raise InvalidCommand("No repository id available for a new repository")
                known_repo = known[name] = {
                    "id": fresh_ids.pop(0), "name": name, "provider": None, "url": None, "config": {}
                }  # fmt: skip
                changes.append(
                    Change(
                        repositories_stream(organization_id),
                        RepositoryAdded(known_repo["id"], organization_id, name, None, None, {}),
                    )
                )
            repo = repo_of[name] = (known_repo["id"], str(known_repo["id"]))
        email = data.get("author_email")
        if email is None or len(email) > MAX_AUTHOR_EMAIL:
            email = author_email_of(data)
        else:
            email = email.lower() or None  # ``author_email_of``'s result for these
        if email is not None and email not in authors:
            authors[email] = {"name": data.get("author_name"), "email": email}
        index = len(ids)
        commit_id = data["id"]
        ids.append(commit_id)
        repo_ids.append(repo[0])
        emails.append(email)
        names.append(data.get("author_name"))
        messages.append(message)
        if "message" not in data:
            unsent.append(index)
        timestamps.append(stamps[at])
        for change in data.get("patch_set") or ():
            file_commits.append(index)
            file_paths.append(change["path"])
            file_types.append(change["type"])
        if repo[1] not in heads:
            heads[repo[1]] = commit_id
    repo_names = {r["id"]: r["name"] for r in known.values()}
    newest = (ids[0], messages[0], timestamps[0], repo_names.get(repo_ids[0]), emails[0]) if ids else None
    summary = ReleaseCommitsSet(
        release_id,
        organization_id,
        version,
        commit_count=len(ids),
        last_commit=_shown(*newest, authors) if newest else None,
        authors=tuple(authors.values()),
        head_commits=heads,
    )
    changes.append(Change(release_stream(organization_id, version), summary))
    recorded = ReleaseCommitsRecorded(
        release_id,
        organization_id,
        version,
        ids=tuple(ids),
        repository_ids=tuple(repo_ids),
        author_emails=tuple(emails),
        author_names=tuple(names),
        messages=tuple(messages),
        timestamps=tuple(timestamps),
        unsent_messages=tuple(unsent),
        file_commits=tuple(file_commits),
        file_paths=tuple(file_paths),
        file_types=tuple(file_types),
    )
    changes.append(Change(release_commits_stream(organization_id, version), recorded))
    changes.extend(_resolutions(organization_id, release_id, version, recorded, repo_names, given, groups))
    return changes


def _shown(
    commit_id: str,
    message: str | None,
    timestamp: str | None,
    repository: str | None,
    email: str | None,
    authors: dict[str, Any],
) -> dict[str, Any]:
    """The newest commit as the release shows it (``lastCommit``)."""
    return {
        "id": commit_id,
        "message": message,
        "dateCreated": timestamp,
        "repository": repository,
        "author": authors.get(email) if email else None,
    }


def _resolutions(
    organization_id: int,
    release_id: int,
    version: str,
    recorded: ReleaseCommitsRecorded,
    repo_names: dict[int, str],
    given: CommitsInput,
    groups: Mapping[str, GroupState],
) -> list[Change]:
    """ "Fixes SHORT-ID": resolved in the commit (once per commit), then in this release (once)."""
    if not given.group_refs:
        return []
    found = dict(given.group_refs)
    changes: list[Change] = []
    resolved: dict[int, GroupState] = {}
    for commit_id, repository_id, message in zip(
        recorded.ids, recorded.repository_ids, recorded.messages, strict=True
    ):
        for ref in references(message, given.url_prefix):
            state = groups.get(str(found.get(ref)))
            if state is None or state.group_id is None or state.project_id is None:
                continue
            if state.organization_id != organization_id:
                continue
            group_id, project_id = state.group_id, state.project_id
            state = resolved.get(group_id, state)
            if (repository_id, commit_id) not in state.links:
                in_commit = GroupResolvedInCommit(
                    group_id,
                    project_id,
                    organization_id,
                    repository_id,
                    repo_names[repository_id],
                    commit_id,
                )
                changes.append(Change(group_stream(group_id), in_commit))
                state = state.evolve(in_commit)
            resolved[group_id] = state
    for group_id, state in resolved.items():
        if state.resolved_in_release is None and state.project_id is not None:
            in_release = GroupResolvedInRelease(
                group_id, state.project_id, organization_id, release_id, version
            )
            changes.append(Change(group_stream(group_id), in_release))
    return changes


COMMIT_RANGE_DELIMITER = ".."


def head_commit_refs(
    refs: tuple[Mapping[str, Any], ...], repos: RepositoriesState
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``set_refs``: every repository must exist; ``a..b`` means previous ``a``, head ``b``.
    Returns the head commits by repository id and the refs to fetch."""
    names = {r["repository"] for r in refs}
    missing = sorted(n for n in names if n not in repos.by_name)
    if missing:
        raise FieldErrors({"refs": [f"Invalid repository names: {','.join(missing)}"]})
    heads: dict[str, str] = {}
    fetch: list[dict[str, Any]] = []
    for ref in refs:
        commit, previous = ref["commit"], ref.get("previousCommit")
        if COMMIT_RANGE_DELIMITER in commit:
            previous, commit = commit.split(COMMIT_RANGE_DELIMITER)
        heads[str(repos.by_name[ref["repository"]]["id"])] = commit
        fetch.append({"repository": ref["repository"], "commit": commit, "previousCommit": previous})
    return heads, fetch
