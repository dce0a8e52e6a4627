"""Schemathesis against a live server, as deployed: ``eventry serve --workers 2`` (gunicorn) and
``eventry worker`` on PostgreSQL and Redis, over every operation of ``/api/0/openapi.json``
with a token of every scope, the organization's real project, key, release and issue in the
paths, and signed relay requests. No 5xx, no status the document does not list, no body or
content type that breaks it. ``bench/fuzz_api.py`` runs the same for longer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench._fuzz import deployment, fuzz, summary
from infra.config import Settings
from tests.integration.test_serve import free_port

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("EVENTRY_FUZZ_EXAMPLES", "10"))


def test_every_operation_answers_within_the_document(pg_settings: Settings, tmp_path: Path) -> None:
    assert pg_settings.database_url and pg_settings.redis_url
    with deployment(pg_settings.database_url, pg_settings.redis_url, tmp_path, free_port()) as dep:
        report = fuzz(dep, EXAMPLES, seed=0)
    assert not report.failures, summary(report)
    assert len(report.examples) >= 45 and all(report.examples.values()), report.examples
    succeeded = [label for label, statuses in report.statuses.items() if any(s < 300 for s in statuses)]
    assert len(succeeded) >= len(report.examples) // 2, summary(report)  # valid targets get past the checks
