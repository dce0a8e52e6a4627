"""The Python client and the remote CLI commands against a live HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from api.app import create_app
from api.cli import main
from api.client import BadRequest, EventryClient, Forbidden, NotFound, TransportError, Unauthorized
from infra.bootstrap import Services
from tests.conftest import Tenant, make_token

MRI = "c:custom/page_click@none"


class Flaky:
    """WSGI middleware: answers the next ``failures`` requests with ``status`` (a proxy in trouble)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.failures = 0
        self.status = "503 Service Unavailable"
        self.seen: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        if self.failures > 0:
            self.failures -= 1
            start_response(self.status, [("Content-Type", "text/plain")])
            return [b"upstream trouble"]
        return self.app(environ, start_response)


@pytest.fixture
def live(services: Services) -> Iterator[tuple[str, Flaky]]:
    flaky = Flaky(create_app(services))
    server = make_server("127.0.0.1", 0, flaky, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", flaky
    server.shutdown()


def test_writes_then_reads_see_them(live: tuple[str, Flaky], tenant: Tenant) -> None:
    url, _ = live
    client = EventryClient(url, tenant.token, backoff=0.01)
    written = client.put(
        f"/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        {"operationType": "blockMetric", "metricMri": MRI},
    )
    assert written.data["isBlocked"] is True and written.position == client.position > 0
    options = client.get(f"/projects/{tenant.org_slug}/{tenant.project_slug}/options/").data
    assert MRI in options["sentry:blocked_metrics"]


def test_typed_errors(live: tuple[str, Flaky], services: Services, tenant: Tenant) -> None:
    url, _ = live
    client = EventryClient(url, tenant.token, backoff=0.01)
    path = f"/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/"
    with pytest.raises(BadRequest) as bad:
        client.put(path, {"operationType": "blockMetric", "metricMri": "nope"})
    assert bad.value.detail == "You must supply a valid metric mri"
    with pytest.raises(NotFound):
        client.get("/projects/nope/nope/options/")
    with pytest.raises(Unauthorized):
        EventryClient(url, "sntryu_" + "0" * 64).get(
            f"/projects/{tenant.org_slug}/{tenant.project_slug}/options/"
        )
    reader, _ = make_token(services, tenant.org_id, ("project:read",))
    with pytest.raises(Forbidden):
        EventryClient(url, reader).put(path, {"operationType": "blockMetric", "metricMri": MRI})
    with pytest.raises(TransportError):
        EventryClient("http://127.0.0.1:1", tenant.token, retries=1, backoff=0.01).get("/")


def test_retries_reuse_the_idempotency_key(
    live: tuple[str, Flaky], services: Services, tenant: Tenant
) -> None:
    url, flaky = live
    client = EventryClient(url, tenant.token, backoff=0.01)
    flaky.failures = 2
    flaky.status = "502 Bad Gateway"
    r = client.put(
        f"/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        {"operationType": "blockTags", "metricMri": MRI, "tags": ["a"]},
    )
    assert r.status == 200
    keys = [h.get("HTTP_IDEMPOTENCY_KEY") for h in flaky.seen[-3:]]
    assert keys[0] and keys == [keys[0]] * 3
    # A response lost after the write happened: the retry replays it instead of writing again.
    head = services.store.head()
    again = client.put(
        f"/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        {"operationType": "blockTags", "metricMri": MRI, "tags": ["a"]},
        idempotency_key=keys[0],
    )
    assert again.headers["idempotent-replayed"] == "true" and services.store.head() == head


def test_remote_cli_commands(live: tuple[str, Flaky], tenant: Tenant) -> None:
    url, _ = live
    env = {"EVENTRY_URL": url, "EVENTRY_TOKEN": tenant.token}
    runner = CliRunner()
    done = runner.invoke(
        main, ["metrics", "block-tags", tenant.org_slug, tenant.project_slug, MRI, "release"], env=env
    )
    assert done.exit_code == 0, done.output
    position_line, body = done.output.strip().splitlines()
    assert json.loads(body)["blockedTags"] == ["release"]
    position = position_line.removeprefix("position ")
    shown = runner.invoke(
        main,
        [
            "api",
            "GET",
            f"/projects/{tenant.org_slug}/{tenant.project_slug}/options/",
            "--min-position",
            position,
        ],
        env=env,
    )
    assert shown.exit_code == 0 and "release" in shown.output
    failed = runner.invoke(main, ["metrics", "block", tenant.org_slug, tenant.project_slug, "bad"], env=env)
    assert failed.exit_code != 0 and "You must supply a valid metric mri" in failed.output
