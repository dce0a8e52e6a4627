"""docs/operations.md and README stay true: every read model and every setting is in them."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from infra.environment import Environment
from projections import PROJECTIONS

ROOT = Path(__file__).resolve().parents[2]


def variables() -> list[str]:
    names = []
    for info in Environment.model_fields.values():
        assert isinstance(info.validation_alias, AliasChoices)
        names += [str(choice) for choice in info.validation_alias.choices]
    return names


def test_every_setting_is_documented() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert [v for v in variables() if f"`{v}`" not in operations] == []
    assert [v for v in variables() if f"| `{v}` |" not in readme] == []


def test_every_read_model_has_a_row_in_operations() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert [p.name for p in PROJECTIONS if f"| `{p.name}` |" not in operations] == []
