"""The ``fetch_commits`` job (sentry-behaviour 4.9), off the request path.

A ``set_refs`` that fetches appends ``ReleaseHeadCommitsSet(fetch=True)``; the releases
projection turns it into a job on the Redis jobs stream (an engine effect, so a job is never
lost between the append and the queue); ``eventry worker`` (or a thread of ``eventry serve``
on the embedded default) runs it: for each ref, the commits between the previous head and
the new one come from the repository's provider, then SetCommits applies them under Sentry's
commit lock. Failures are mailed to the user ("Unable to Fetch Commits").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from commands.release_commits import RepositoriesState
from commands.releases import SetCommits
from commands.users import RemoveIdentity, UserState
from events import Meta
from events.releases import repositories_stream
from events.users import user_stream
from infra import git_provider
from infra.config import Settings
from infra.git_provider import InvalidIdentity, ProviderError
from infra.git_roots import roots_for
from infra.jobs import enqueue, jobs_stream
from infra.mail import Mailer
from infra.releases import ReleaseCommitError, commit_lock, commits_input
from infra.telemetry import log
from projections import release_queries
from projections.directory import find_organization
from projections.releases import FETCH_COMMITS

LOGGER = logging.getLogger("eventry.fetch_commits")
SUBJECT = "Unable to Fetch Commits"
INTERNAL_ERROR = "An internal system error occurred."
PROVIDERS = {git_provider.PROVIDER: git_provider.compare_commits}


def fetch_commits_error_email(version: str, repository: str, organization: str, error: str) -> str:
    return (
        f"{SUBJECT}\n-----------------------\n\n"
        f"We were unable to fetch the commit log for your release ({version}) for repository ({repository}) "
        f"in the ({organization}) organization due to the following error:\n\n{error}\n"
    )


def invalid_identity_email(provider: str) -> str:
    return (
        "Action Required\n---------------\n\n"
        f"An identity with a third party service provider ({provider}) failed to authenticate and has been "
        f"removed.\n\nYou will need to associate your account with {provider} "
        "to continue using the integration.\n"
    )


def enqueuer(redis: Any, settings: Settings) -> Callable[[list[Any]], None]:
    """The releases projection's effect: queue the fetch jobs its batch emitted."""

    def perform(effects: list[Any]) -> None:
        for effect in effects:
            if effect.get("task") == FETCH_COMMITS:
                enqueue(redis, jobs_stream(settings), FETCH_COMMITS, dict(effect))

    return perform


class CommitFetcher:
    """Runs fetch jobs with the services of this process (``infra.bootstrap.Services``)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self.mailer = Mailer(svc.settings)
        self.meta = Meta(actor_type="system", actor_label="fetch_commits")

    def handlers(self) -> dict[str, Any]:
        return {FETCH_COMMITS: self.fetch}

    def fetch(self, job: Mapping[str, Any]) -> None:
        svc, org_id = self.svc, job["organization_id"]
        svc.engine.wait(job["position"], ["releases", "directory"], timeout=svc.settings.read_wait_timeout)
        with svc.engine.read("releases") as view:
            release = release_queries.find_release(view, org_id, job["version"])
            if release is None or release["id"] != job["release_id"]:
                return  # deleted (or re-created) since: nothing to fetch for
            previous = self._previous_release_id(view, job, release)
        repos = RepositoriesState.fold(r.event for r in svc.store.read_stream(repositories_stream(org_id)))
        user = (
            UserState.fold(r.event for r in svc.store.read_stream(user_stream(job["user_id"])))
            if job.get("user_id") is not None
            else UserState()
        )
        commits: list[dict[str, Any]] = []
        roots = roots_for(svc.settings, org_id)  # resolved per job, so fetching follows the roots of today
        for ref in job["refs"]:
            repo = repos.by_name.get(ref["repository"])
            compare = PROVIDERS.get(repo["provider"]) if repo else None
            if repo is None or compare is None:
                continue  # missing repository or no provider: skipped, as in Sentry
            start = ref.get("previousCommit") or self._previous_head(previous, repo["id"])
            try:
                fetched = compare(
                    repo, start, ref["commit"], job.get("user_id"), user.identities, roots=roots
                )
                commits.extend(fetched)
            except Exception as exc:
                self._failed(job, release, repo, user, exc)
        if not commits:
            return
        try:
            with commit_lock(svc.redis, org_id, release["id"]):
                svc.dispatch(
                    SetCommits(org_id, release["version"], commits_input(svc, org_id, commits)), self.meta
                )
        except ReleaseCommitError:
            log(LOGGER, logging.INFO, "fetch_commits.duplicate", release_id=release["id"])

    @staticmethod
    def _previous_release_id(view: Any, job: Mapping[str, Any], release: dict[str, Any]) -> int | None:
        """The release chosen when the refs were set (Sentry's ``prev_release_id``); a job
        queued before that choice was recorded falls back to choosing now."""
        if "previous_release_id" in job:
            return cast(int | None, job["previous_release_id"])
        previous = release_queries.previous_release(view, release)
        return int(previous["id"]) if previous is not None else None

    def _previous_head(self, previous_id: int | None, repository_id: int) -> str | None:
        """The previous release's head commit in this repository, read now as Sentry's task
        does (None once that release is deleted: its head commits go with it)."""
        if previous_id is None:
            return None
        with self.svc.engine.read("releases") as view:
            return release_queries.head_commit(view, previous_id, repository_id)

    def _failed(
        self,
        job: Mapping[str, Any],
        release: dict[str, Any],
        repo: dict[str, Any],
        user: UserState,
        exc: Exception,
    ) -> None:
        log(LOGGER, logging.INFO, "fetch_commits.error", repository=repo["name"], error=str(exc))
        to = [user.email] if user.email else []
        if isinstance(exc, InvalidIdentity) and exc.identity is not None:
            user_id, provider = exc.identity
            self.mailer.send(to, SUBJECT, invalid_identity_email(provider))
            self.svc.dispatch(RemoveIdentity(user_id, provider, str(exc)), self.meta)
            return
        message = str(exc) if isinstance(exc, ProviderError) else INTERNAL_ERROR
        if not isinstance(exc, ProviderError):
            LOGGER.exception("fetch_commits failed", exc_info=exc)
        self.mailer.send(
            to,
            SUBJECT,
            fetch_commits_error_email(release["version"], repo["name"], self._org_slug(release), message),
        )

    def _org_slug(self, release: dict[str, Any]) -> str:
        with self.svc.engine.read("directory") as view:
            org = find_organization(view, str(release["organization_id"]))
        return org.slug if org else ""
