"""Response bodies of the release endpoints, as Sentry's serializers shape them. Datetimes
always carry a timezone (``…Z``): sentry-cli rejects naive ones."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sentry_relay.processing import parse_release

from commands.releases import ReleaseState
from projections.directory import ProjectRow

PROVIDER_NAMES = {"git": "Git"}


def utc(value: str | None) -> str | None:
    """Stored ISO text as Sentry writes datetimes: UTC with microseconds and ``Z``."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    # not strftime: its %Y does not pad years before 1000 ("12-01-11T…")
    return parsed.isoformat(timespec="microseconds").replace("+00:00", "Z")


def release_of_state(state: ReleaseState) -> dict[str, Any]:
    """A release decided just now, in the shape the view returns."""
    return {
        "id": state.release_id,
        "organization_id": state.organization_id,
        "version": state.version,
        "status": state.status,
        "ref": state.ref,
        "url": state.url,
        "owner": state.owner,
        "user_agent": state.user_agent,
        "date_added": state.date_added,
        "date_released": state.date_released,
        "commit_count": state.commit_count,
        "last_commit": state.last_commit,
        "authors": list(state.authors),
        "total_deploys": state.total_deploys,
        "last_deploy": state.last_deploy,
        "project_ids": state.project_ids,
    }


def version_info(version: str) -> dict[str, Any] | None:
    try:
        info = parse_release(version)
    except Exception:  # a version Relay cannot parse has no version info, as in Sentry
        return None
    parsed = info.get("version_parsed")
    shown: dict[str, Any] = {"raw": info["version_raw"]}
    if parsed:
        shown.update(
            major=parsed["major"], minor=parsed["minor"], patch=parsed["patch"], revision=parsed["revision"],
            pre=parsed["pre"], buildCode=parsed["build_code"], components=parsed["components"],
        )  # fmt: skip
    return {
        "package": info.get("package"),
        "version": shown,
        "description": info.get("description"),
        "buildHash": info.get("build_hash"),
    }


def render_commit(commit: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if commit is None:
        return None
    return {
        "id": commit["id"],
        "message": commit.get("message"),
        "dateCreated": utc(commit.get("dateCreated")),
        "pullRequest": None,
        "suspectCommitType": "",
        "author": commit.get("author"),
        # the last commit of a release names its repository; a commit list shows it whole
        "repository": render_repository(repo) if isinstance(repo := commit.get("repository"), dict) else None,
    }


def render_deploy(deploy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if deploy is None:
        return None
    return {
        "id": deploy["id"],
        "environment": deploy["environment"],
        "dateStarted": utc(deploy.get("dateStarted")),
        "dateFinished": utc(deploy.get("dateFinished")),
        "name": deploy.get("name"),
        "url": deploy.get("url"),
    }


def render_release(
    release: Mapping[str, Any],
    projects: Mapping[int, ProjectRow],
    new_groups: Mapping[tuple[str, int], int] | None = None,
    project_id: int | None = None,
) -> dict[str, Any]:
    """``ReleaseSerializer``; ``newGroups`` counts the issues first seen in the release, of
    ``project_id`` alone when the release is read through a project (Sentry's ``project=``)."""
    counts = new_groups or {}
    version = release["version"]
    counted = (project_id,) if project_id is not None else release["project_ids"]
    return {
        "id": release["id"],
        "version": release["version"],
        "status": release["status"],
        "shortVersion": release["version"],
        "versionInfo": version_info(release["version"]),
        "ref": release["ref"],
        "url": release["url"],
        "dateReleased": utc(release["date_released"]),
        "dateCreated": utc(release["date_added"]),
        "data": {},
        "newGroups": sum(counts.get((version, pid), 0) for pid in counted),
        "owner": None,
        "commitCount": release["commit_count"],
        "lastCommit": render_commit(release["last_commit"]),
        "deployCount": release["total_deploys"],
        "lastDeploy": render_deploy(release["last_deploy"]),
        "authors": list(release["authors"]),
        "projects": [
            {
                "id": p.id,
                "slug": p.slug,
                "name": p.name,
                "newGroups": counts.get((version, p.id), 0),
                "platform": p.platform,
                "platforms": [p.platform] if p.platform else [],
                "hasHealthData": False,
            }
            for p in (projects.get(pid) for pid in release["project_ids"])
            if p is not None
        ],
        "firstEvent": None,
        "lastEvent": None,
        "currentProjectMeta": {},
        "userAgent": release["user_agent"] or None,
    }


def render_repository(repo: Mapping[str, Any]) -> dict[str, Any]:
    """``RepositorySerializer``; repositories first seen in a commit list have no provider."""
    provider = repo.get("provider")
    return {
        "id": str(repo["id"]),
        "name": repo["name"],
        "url": repo.get("url"),
        "provider": {"id": provider, "name": PROVIDER_NAMES.get(provider, provider)}
        if provider
        else {"id": "unknown", "name": "Unknown Provider"},
        "status": repo.get("status") or "active",
        "dateCreated": utc(repo.get("date_added")),
        "integrationId": None,
        "externalSlug": None,
        "externalId": None,
    }
