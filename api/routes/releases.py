"""Releases (sentry-behaviour 4): create at organization and project level, list, details,
update (finalize, refs, commits, archive/restore), delete, commits, previous-with-commits,
deploys. Versions in paths arrive percent-decoded (``%2B`` is ``+``)."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from api import context
from api.commanding import execute
from api.consistency import consistent, with_position
from api.errors import ApiError, detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.pagination import paginate
from api.periods import parse_stats_period
from api.release_render import release_of_state, render_commit, render_deploy, render_release, utc
from api.release_schemas import (
    PAGE,
    QUERY,
    RELEASE_LIST_QUERY,
    RELEASE_SORTS,
    RELEASE_STATS_QUERY,
    SESSION_SORTS,
    Commit,
    Deploy,
    DeploySchema,
    Empty,
    OrganizationReleaseSchema,
    ProjectReleaseSchema,
    ProjectReleaseUpdateSchema,
    Release,
    ReleaseSchema,
    ReleaseStat,
)
from api.schemas import load_fields
from commands.releases import CreateDeploy, CreateRelease, DeleteRelease, ReleaseChanges, UpdateRelease
from infra.releases import commit_lock, commits_input, release_state
from projections import release_queries as queries
from projections.directory import OrganizationRow, ProjectRow, list_projects
from projections.environments import existing_names
from projections.groups import new_groups as count_new_groups
from projections.groups import references_release
from projections.release_search import InvalidSearch

bp = Blueprint("releases", __name__)
RELEASE_READ, RELEASE_WRITE = context.RELEASE_READ, context.RELEASE_WRITE  # Sentry's release permissions
RELEASE_DELETE = context.RELEASE_DELETE
VIEWS = ["releases"]
RELEASE_ID_KEY = "release_snowflake_key"
DEPLOY_ID_KEY = "deploy_snowflake_key"
INVALID_PROJECTS = "Invalid project ids or slugs"
RELEASE_REFERENCED = "This release is referenced by active issues and cannot be removed."


def _projects(org: OrganizationRow) -> dict[int, ProjectRow]:
    with context.services().engine.read("directory") as view:
        return {p.id: p for p in list_projects(view, org.id) if p.status == "active"}


def _render(org: OrganizationRow, release: dict[str, Any]) -> dict[str, Any]:
    return render_release(release, _projects(org))


def _changes(body: dict[str, Any], commits: Any) -> ReleaseChanges:
    refs = body.get("refs") or [
        {"repository": r["repository"], "previousCommit": r.get("previousId"), "commit": r["currentId"]}
        for r in body.get("headCommits") or ()
    ]
    return ReleaseChanges(
        ref=body.get("ref") or None,
        url=body.get("url") or None,
        date_released=body.get("dateReleased"),
        status=body.get("status"),
        commits=commits,
        refs=tuple(refs),
        user_id=context.principal().token_id,
    )


def _write(
    org: OrganizationRow, version: str, body: dict[str, Any], make: Any, new_id: int | None
) -> Response:
    """Dispatch under Sentry's commit lock when the body carries commits."""
    svc = context.services()
    commits = commits_input(svc, org.id, body["commits"]) if body.get("commits") else None
    lock: AbstractContextManager[None] = nullcontext()
    if commits is not None:
        state = release_state(svc, org.id, version)
        release_id = state.release_id if state.exists else new_id
        if release_id is not None:
            lock = commit_lock(svc.redis, org.id, release_id)
    with lock:
        command = make(_changes(body, commits))
        return execute(command, lambda r: _render(org, release_of_state(r["release"])), lambda r: r["status"])


@bp.post("/organizations/<org_slug>/releases/")
@bp.response(201, Release)
@bp.alt_response(208, schema=Release, success=True)
@operation(
    "Create a release for some of the organization's projects (208 when it already exists)",
    body=OrganizationReleaseSchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(RELEASE_WRITE)
def create_organization_release(org_slug: str) -> Response:
    org = context.organization(org_slug)
    body = load_fields(OrganizationReleaseSchema(), context.json_body())
    projects = _projects(org)
    project_ids = []
    for wanted in body["projects"]:
        project = _lookup(projects, wanted)
        if project is None:
            raise ApiError(400, {"projects": [INVALID_PROJECTS]})
        project_ids.append(project.id)
    release_id = context.services().snowflake(RELEASE_ID_KEY)
    agent = request.headers.get("User-Agent", "")

    def make(changes: ReleaseChanges) -> CreateRelease:
        return CreateRelease(org.id, body["version"], release_id, tuple(project_ids), changes, None, agent)

    return _write(org, body["version"], body, make, release_id)


INVALID_PROJECT_PARAMETER = "Invalid project parameter. Values must be numbers."
NO_PERMISSION = "You do not have permission to perform this action."


def requested_projects(projects: dict[int, ProjectRow]) -> tuple[int, ...]:
    """Sentry's ``get_projects`` for ``?project=``: numbers as Python's ``int`` reads them (a 400
    otherwise), ``-1`` alone (or none) means every project (empty here), and one that is not an
    active project of the organization is a 403."""
    try:
        wanted = {int(p) for p in request.args.getlist("project")}
    except ValueError:
        raise detail(400, INVALID_PROJECT_PARAMETER) from None
    if wanted in (set(), {-1}):
        return ()
    if not wanted <= set(projects):
        raise detail(403, NO_PERMISSION)
    return tuple(sorted(wanted))


def _lookup(projects: dict[int, ProjectRow], wanted: Any) -> ProjectRow | None:
    """A project by id, numeric string or slug, among the caller's."""
    if isinstance(wanted, bool) or not isinstance(wanted, str | int):
        return None
    text = str(wanted)
    # isdecimal(), not isdigit(): int() refuses "²"; a project id has at most 19 digits
    number = int(text) if text.isdecimal() and len(text) < 20 else None
    for project in projects.values():
        if project.slug == text or project.id == number:
            return project
    return None


@bp.post("/projects/<org_slug>/<project_slug>/releases/")
@bp.response(201, Release)
@bp.alt_response(208, schema=Release, success=True)
@operation(
    "Create a release of this project (208 when it already exists)",
    body=ProjectReleaseSchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(RELEASE_WRITE)
def create_project_release(org_slug: str, project_slug: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    body = load_fields(ProjectReleaseSchema(), context.json_body())
    release_id = context.services().snowflake(RELEASE_ID_KEY)
    agent = request.headers.get("User-Agent", "")

    def make(changes: ReleaseChanges) -> CreateRelease:
        return CreateRelease(
            org.id, body["version"], release_id, (project.id,), changes, None, agent, project_level=True
        )

    return _write(org, body["version"], body, make, release_id)


@bp.get("/organizations/<org_slug>/releases/")
@bp.response(200, Release(many=True))
@operation("The organization's releases, newest first", query=RELEASE_LIST_QUERY, reads=True, paginated=True)
@context.requires(RELEASE_READ)
def list_organization_releases(org_slug: str) -> Response:
    org = context.organization(org_slug)
    consistent(VIEWS)
    status = request.args.get("status", "open") or None
    if status not in (None, "open", "archived"):
        raise detail(400, "invalid value for status")
    sort = _list_sort()
    window = date_window()
    projects = _projects(org)
    project_ids = requested_projects(projects) or tuple(projects)
    query = request.args.get("query") or ""
    environments = _organization_environments(org)
    if sort == "date" and not query and window is None:
        return _release_page(org, projects, project_ids, status, environments=environments)
    rows = _searched(org, project_ids, status, query, sort, window, environments)
    return paginate(
        lambda offset, limit: rows[offset : offset + limit],
        lambda page: with_position(rendered_releases(org, projects, page), VIEWS),
    )


def _organization_environments(org: OrganizationRow) -> list[str] | None:
    """``?environment=`` as Sentry's ``get_environments`` reads it: one the organization does
    not have is a 404."""
    names = [name for name in request.args.getlist("environment") if name]
    if not names:
        return None
    require_environments(org, names)
    return names


def require_environments(org: OrganizationRow, names: list[str]) -> None:
    """404 unless the organization has an environment of each name (``get_environments``)."""
    consistent(["environments"])
    with context.services().engine.read("environments") as view:
        if existing_names(view, org.id, names) != set(names):
            raise detail(404, context.NOT_FOUND)


def _list_sort() -> str:
    """Sentry's sorts; with no session or adoption data those orders are the date order."""
    sort = request.args.get("sort") or "date"
    if sort in SESSION_SORTS and request.args.get("flatten") != "1":
        raise detail(400, "sorting by crash statistics requires flattening (flatten=1)")
    if sort not in RELEASE_SORTS:
        raise detail(400, "invalid sort")
    return sort if sort in ("build", "semver") else "date"


def _searched(
    org: OrganizationRow,
    project_ids: tuple[int, ...],
    status: str | None,
    query: str,
    sort: str,
    window: tuple[str, str] | None,
    environments: list[str] | None = None,
) -> list[dict[str, Any]]:
    try:
        with context.services().engine.read("releases") as view:
            return queries.searched_releases(
                view, org.id, project_ids, status, query, sort, window, environments
            )
    except InvalidSearch as exc:
        raise detail(400, str(exc)) from None


LONGEST_PERIOD = timedelta(days=365 * 1000)  # older than any release; keeps the start representable


def date_window() -> tuple[str, str] | None:
    """Sentry's optional date range (``start`` and ``end``, or ``statsPeriod``) as UTC ISO
    text; one it cannot read is a 400 ``Invalid date range: ...``."""
    start, end, period = (request.args.get(k) for k in ("start", "end", "statsPeriod"))
    if start and end:
        return _parsed_date(start), _parsed_date(end)
    if period:
        parsed = parse_stats_period(period)
        if parsed is None:
            raise detail(400, f"Invalid date range: Invalid statsPeriod: {period!r}")
        now = datetime.now(UTC)
        return (now - min(parsed, LONGEST_PERIOD)).isoformat(), now.isoformat()
    return None


def _parsed_date(text: str) -> str:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        return parsed.isoformat()
    except (ValueError, OverflowError):
        raise detail(400, f"Invalid date range: {text} is not a valid ISO8601 date query") from None


@bp.get("/organizations/<org_slug>/releases/stats/")
@bp.response(200, ReleaseStat(many=True))
@operation(
    "Versions and creation dates of the organization's releases, newest first (for timeseries)",
    query=RELEASE_STATS_QUERY,
    reads=True,
    paginated=True,
)
@context.requires(RELEASE_READ)
def release_stats(org_slug: str) -> Response:
    """Sentry's ``OrganizationReleasesStatsEndpoint``: every status, ``query`` and dates honoured."""
    org = context.organization(org_slug)
    consistent(VIEWS)
    window = date_window()
    projects = _projects(org)
    project_ids = requested_projects(projects) or tuple(projects)
    rows = _searched(org, project_ids, None, request.args.get("query") or "", "date", window)
    return paginate(
        lambda offset, limit: rows[offset : offset + limit],
        lambda page: with_position(
            [{"version": r["version"], "date": utc(r["date_added"])} for r in page], VIEWS
        ),
    )


@bp.get("/projects/<org_slug>/<project_slug>/releases/")
@bp.response(200, Release(many=True))
@operation("The project's releases, newest first", query=PAGE + QUERY, reads=True, paginated=True)
@context.requires(RELEASE_READ)
def list_project_releases(org_slug: str, project_slug: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    consistent(VIEWS)
    # An environment the organization does not have lists nothing here (Sentry's queryset.none()).
    environments = [name for name in request.args.getlist("environment") if name] or None
    return _release_page(org, _projects(org), (project.id,), "open", project.id, environments)


def _release_page(
    org: OrganizationRow,
    projects: dict[int, ProjectRow],
    project_ids: tuple[int, ...],
    status: str | None,
    project_id: int | None = None,
    environments: list[str] | None = None,
) -> Response:
    """One page of releases; through a project (``project_id``) they come in Sentry's project
    order (release date when set, else creation) and count that project's new issues."""
    query = request.args.get("query")

    by_release_date = project_id is not None

    def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
        with context.services().engine.read("releases") as view:
            return queries.list_releases(
                view, org.id, project_ids, status, query, offset, limit, by_release_date, environments
            )

    def respond(rows: list[dict[str, Any]]) -> Response:
        return with_position(rendered_releases(org, projects, rows, project_id), VIEWS)

    return paginate(fetch, respond)


def rendered_releases(
    org: OrganizationRow,
    projects: dict[int, ProjectRow],
    rows: list[dict[str, Any]],
    project_id: int | None = None,
) -> list[dict[str, Any]]:
    """Releases as Sentry's serializer shows them: new issues counted, and with
    ``adoptionStages=1`` (organization level) the adoption stage of each deployed project."""
    counts = new_groups(org, [r["version"] for r in rows])
    rendered = [render_release(r, projects, counts, project_id) for r in rows]
    if project_id is None and request.args.get("adoptionStages") == "1":
        with context.services().engine.read("releases") as view:
            deployed = queries.deployed_projects(view, [r["id"] for r in rows])
        for body, row in zip(rendered, rows, strict=True):
            body["adoptionStages"] = adoption_stages(deployed.get(row["id"], []), projects)
    return rendered


def adoption_stages(project_ids: list[int], projects: dict[int, ProjectRow]) -> dict[str, Any] | None:
    """Sentry's ``ReleaseProjectEnvironment.adoption_stages`` per project slug; eventry has no
    session data, so no release is ever adopted: ``low_adoption``. None without deploys."""
    stages = {
        projects[pid].slug: {"stage": "low_adoption", "adopted": None, "unadopted": None}
        for pid in project_ids
        if pid in projects
    }
    return stages or None


def new_groups(org: OrganizationRow, versions: list[str]) -> dict[tuple[str, int], int]:
    """Issues first seen in these releases, per (version, project), as the caller last wrote them."""
    consistent(["groups"])
    with context.services().engine.read("groups") as view:
        return count_new_groups(view, org.id, versions)


def view_page(query: Any, render: Any) -> Response:
    """One page of rows of the releases view, rendered, with the Link header."""

    def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
        with context.services().engine.read("releases") as view:
            return list(query(view, offset, limit))

    return paginate(fetch, lambda rows: with_position([render(r) for r in rows], VIEWS))


def _existing(org: OrganizationRow, version: str) -> dict[str, Any]:
    state = release_state(context.services(), org.id, version)
    if not state.exists:
        raise detail(404, context.NOT_FOUND)
    return release_of_state(state)


@bp.get("/organizations/<org_slug>/releases/<version>/")
@bp.response(200, Release)
@operation("A release")
@context.requires(RELEASE_READ)
def get_release(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    release = _existing(org, version)
    projects = _projects(org)
    wanted = requested_projects(projects)
    if wanted and not set(wanted) & set(release["project_ids"]):
        raise detail(404, context.NOT_FOUND)  # Sentry's has_release_permission for ?project=
    (rendered,) = rendered_releases(org, projects, [release])
    first = _int_or_none(request.args.get("project"))
    if first is not None and first > 0:
        rendered["currentProjectMeta"] = _project_meta(org, release, wanted, first)
    return jsonify(rendered)


RELEASE_SUFFIX = re.compile(r"^(.*)\s+\(([^)]+)\)\s*$")  # Sentry's _release_suffix: "1.0 (1234)"


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _project_meta(
    org: OrganizationRow, release: dict[str, Any], project_ids: tuple[int, ...], project_id: int
) -> dict[str, Any]:
    """``currentProjectMeta`` on date sort (the only sort without session data): the next newer
    and older release among the requested projects, status, ``query`` and environments, and the
    project's first and last release. eventry has no sessions: their bounds are null."""
    if (request.args.get("sort") or "date") != "date":
        raise detail(400, "invalid sort")
    status = request.args.get("status", "open")
    if status not in ("open", "archived"):
        raise detail(400, "invalid value for status")
    query = request.args.get("query")
    matches = [query] if query else []
    suffix = RELEASE_SUFFIX.match(query or "")
    if suffix is not None:
        matches.append(f"{suffix[1]}+{suffix[2]}")
    consistent(VIEWS)
    environments = request.args.getlist("environment") or None
    if environments:
        require_environments(org, environments)
    with context.services().engine.read("releases") as view:
        newer, older = queries.adjacent_versions(view, release, project_ids, status, matches, environments)
        first, last = queries.first_and_last_versions(view, org.id, project_id, environments)
    return {
        "sessionsLowerBound": None,
        "sessionsUpperBound": None,
        "nextReleaseVersion": newer,
        "prevReleaseVersion": older,
        "firstReleaseVersion": first,
        "lastReleaseVersion": last,
    }


@bp.put("/organizations/<org_slug>/releases/<version>/")
@bp.response(200, Release)
@operation(
    "Update a release: finalize, refs, commits, archive or restore",
    body=ReleaseSchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(RELEASE_WRITE)
def update_release(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    _existing(org, version)
    body = load_fields(ReleaseSchema(), context.json_body())
    return _write(org, version, body, lambda changes: UpdateRelease(org.id, version, changes), None)


@bp.delete("/organizations/<org_slug>/releases/<version>/")
@bp.response(204)
@operation("Delete a release", writes=True)
@context.requires(RELEASE_DELETE)
def delete_release(org_slug: str, version: str) -> Response:
    """204; a release some issue was first seen in stays (Sentry keeps ``first_release``)."""
    org = context.organization(org_slug)
    _existing(org, version)
    consistent(["groups"])
    with context.services().engine.read("groups") as view:
        if references_release(view, org.id, version):
            raise detail(400, RELEASE_REFERENCED)
    return execute(DeleteRelease(org.id, version), status=204)


def _project_release(org: OrganizationRow, project: ProjectRow, version: str) -> dict[str, Any]:
    """Sentry's ``ProjectReleaseDetailsEndpoint`` finds the release among the project's (404)."""
    release = _existing(org, version)
    if project.id not in release["project_ids"]:
        raise detail(404, context.NOT_FOUND)
    return release


@bp.get("/projects/<org_slug>/<project_slug>/releases/<version>/")
@bp.response(200, Release)
@operation("A release of this project (newGroups counts this project's issues)", reads=True)
@context.requires(RELEASE_READ)
def get_project_release(org_slug: str, project_slug: str, version: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    release = _project_release(org, project, version)
    rendered = render_release(release, _projects(org), new_groups(org, [version]), project.id)
    return jsonify(rendered)


@bp.put("/projects/<org_slug>/<project_slug>/releases/<version>/")
@bp.response(200, Release)
@operation(
    "Update a release of this project: ref, url, release date, commits, status",
    body=ProjectReleaseUpdateSchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(RELEASE_WRITE)
def update_project_release(org_slug: str, project_slug: str, version: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    _project_release(org, project, version)
    body = load_fields(ProjectReleaseUpdateSchema(), context.json_body())
    return _write(org, version, body, lambda changes: UpdateRelease(org.id, version, changes), None)


@bp.delete("/projects/<org_slug>/<project_slug>/releases/<version>/")
@bp.response(204)
@operation("Delete a release of this project (the whole release, as Sentry does)", writes=True)
@context.requires(RELEASE_DELETE)
def delete_project_release(org_slug: str, project_slug: str, version: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    _project_release(org, project, version)
    consistent(["groups"])
    with context.services().engine.read("groups") as view:
        if references_release(view, org.id, version):
            raise detail(400, RELEASE_REFERENCED)
    return execute(DeleteRelease(org.id, version), status=204)


@bp.get("/organizations/<org_slug>/releases/<version>/commits/")
@bp.response(200, Commit(many=True))
@operation("The release's commits", query=PAGE, reads=True, paginated=True)
@context.requires(RELEASE_READ)
def release_commits(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    release = _existing(org, version)
    consistent(VIEWS)
    return view_page(
        lambda view, offset, limit: queries.release_commits(view, org.id, release["id"], offset, limit),
        render_commit,
    )


@bp.get("/organizations/<org_slug>/releases/<version>/previous-with-commits/")
@bp.response(200, {"anyOf": [Release, Empty]})
@operation("The newest earlier release with commits (`{}` when there is none)", reads=True)
@context.requires(RELEASE_READ)
def previous_with_commits(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    release = _existing(org, version)
    consistent(VIEWS)
    with context.services().engine.read("releases") as view:
        previous = queries.previous_with_commits(view, release)
    return with_position(_render(org, previous) if previous else {}, VIEWS)


@bp.post("/organizations/<org_slug>/releases/<version>/deploys/")
@bp.response(201, Deploy)
@operation("Record a deploy of the release", body=DeploySchema, writes=True, bad_request=DETAIL_OR_FIELDS)
@context.requires(RELEASE_WRITE)
def create_deploy(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    _existing(org, version)
    body = load_fields(DeploySchema(), context.json_body())
    project_ids: tuple[int, ...] | None = None
    slugs: tuple[str, ...] = ()
    if body.get("projects") is not None:
        projects = _projects(org)
        chosen = [_lookup(projects, wanted) for wanted in body["projects"]]
        if None in chosen:  # Sentry's ProjectField (ids allowed); its list reports the first
            raise ApiError(400, {"projects": ["Invalid project"]})
        project_ids = tuple(p.id for p in chosen if p is not None)
        slugs = tuple(p.slug for p in chosen if p is not None)
    command = CreateDeploy(
        org.id,
        version,
        context.services().snowflake(DEPLOY_ID_KEY),
        body["environment"],
        body.get("name") or None,
        body.get("url") or None,
        body.get("dateStarted"),
        body.get("dateFinished"),
        project_ids,
        slugs,
    )
    return execute(command, render_deploy, status=201)


@bp.get("/organizations/<org_slug>/releases/<version>/deploys/")
@bp.response(200, Deploy(many=True))
@operation("The release's deploys", query=PAGE, reads=True, paginated=True)
@context.requires(RELEASE_READ)
def list_deploys(org_slug: str, version: str) -> Response:
    org = context.organization(org_slug)
    release = _existing(org, version)
    consistent(VIEWS)
    projects = _projects(org)
    project_ids = tuple(requested_projects(projects) or projects)
    return view_page(
        lambda view, offset, limit: queries.deploys(view, release["id"], project_ids, offset, limit),
        render_deploy,
    )
