"""Running ``eventry`` commands in tests, on the embedded default in a fresh directory."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main


def run(env: dict[str, str], *args: str) -> str:
    """The command's output; it must succeed."""
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def fails(env: dict[str, str], *args: str) -> str:
    """The command's output; it must fail."""
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code != 0
    return result.output
