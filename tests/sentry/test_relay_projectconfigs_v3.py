"""Port of Sentry's tests/sentry/api/endpoints/test_relay_projectconfigs_v3.py (``?version=3``).

Sentry version: getsentry/sentry at 0db8f6b1956c83a99647e2957a7a1703353ecc64.
Sentry's v3 tests patch the config cache, the debounce cache and the build task; here the real
config is served (the projection writes it through to Redis), so the parts that only hold with
a patched cache are left out: ``test_proj_in_cache_and_another_pending``,
``test_enqueue_task_if_config_not_cached_not_queued``,
``test_debounce_task_if_proj_config_not_cached_already_enqueued`` and
``test_task_writes_config_into_cache``. The two tests kept assert the response's shape with the
real config in place of Sentry's ``{"is_mock_config": True}``.
"""

from __future__ import annotations

from typing import Any

from infra.bootstrap import Services
from tests.sentry.projects_support import (
    RelayCtx,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    relay_ctx_fixture,  # noqa: F401 (the ``relay_ctx`` fixture)
    settle,
)


def call_endpoint(services: Services, ctx: RelayCtx, full_config: bool | None) -> tuple[Any, int]:
    settle(services)
    payload: dict[str, Any] = {"publicKeys": [ctx.public_key], "no_cache": False}
    if full_config is not None:
        payload["fullConfig"] = full_config
    return ctx.relay.configs(payload, version=3)


def test_relay_projectconfigs_v3__test_return_full_config_if_in_cache(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_return_full_config_if_in_cache"""
    result, status_code = call_endpoint(services, relay_ctx, full_config=True)
    assert status_code < 400
    assert set(result) == {"configs", "pending"}
    assert list(result["configs"]) == [relay_ctx.public_key]
    assert result["configs"][relay_ctx.public_key]["projectId"] == relay_ctx.owner.project_id
    assert result["pending"] == []


def test_relay_projectconfigs_v3__test_return_partial_config_if_in_cache(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_return_partial_config_if_in_cache (partial configs are handled as v2, even
    with ``?version=3``: no ``pending``)"""
    result, status_code = call_endpoint(services, relay_ctx, full_config=False)
    assert status_code < 400
    assert set(result) == {"configs"}
    assert list(result["configs"]) == [relay_ctx.public_key]
    assert result["configs"][relay_ctx.public_key]["projectId"] == relay_ctx.owner.project_id
