"""Factories for the ported Sentry tests of environments (see ``releases_support`` for how state
is made: through the HTTP routes, as the owner's token).

eventry has no ``Environment.objects.create``: an environment comes into being where Sentry's
server makes one, a deploy (``Environment.get_or_create`` and ``add_project`` for the deploy's
projects). So ``self.create_environment(project=p, name=n)`` is a deploy to ``n`` of a release
of ``p``; an environment of no project is a deploy of a release that has none; ``is_hidden`` is
then set with the environment details route (Sentry's factory writes the column).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from tests.sentry.releases_support import Org

REVERSE_SAFE = "!$&'()*+,;=/~:@"  # what Django's reverse() leaves unquoted


def create_environment(
    org: Org, name: str, project: dict[str, Any] | None = None, is_hidden: bool | None = None
) -> None:
    """Sentry's ``self.create_environment(project=..., name=..., is_hidden=...)``; ``project``
    None makes ``Environment.objects.create`` (attached to no project)."""
    version = f"env-{secrets.token_hex(4)}"
    org.create_release(version, [project] if project else [])
    r = org.post(org.release_url(version, "deploys/"), {"environment": name})
    assert r.status_code == 201, r.get_json()
    if is_hidden is not None:
        assert project is not None
        r = org.put(environment_url(org, project, name), {"isHidden": is_hidden})
        assert r.status_code == 200, r.get_json()


def project_environments_url(org: Org, project: dict[str, Any] | None = None) -> str:
    """``sentry-api-0-project-environments``."""
    return f"/api/0/projects/{org.slug}/{(project or org.project)['slug']}/environments/"


def environment_url(org: Org, project: dict[str, Any], segment: str) -> str:
    """``sentry-api-0-project-environment-details`` as Django's ``reverse`` builds it from the
    ``environment`` argument the test gives (it quotes that once more, ``%`` included)."""
    return project_environments_url(org, project) + quote(segment, safe=REVERSE_SAFE) + "/"


def organization_environments_url(org: Org) -> str:
    """``sentry-api-0-organization-environments``."""
    return f"/api/0/organizations/{org.slug}/environments/"
