"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.db import SqliteDatabase


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    """A view database of its own (SQLite) for a projection test to feed."""
    database = SqliteDatabase(tmp_path / "views.sqlite3")
    yield database
    database.close()
