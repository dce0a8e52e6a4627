"""A setting that does not work ends a command with one line naming it and the fix, exit status
non-zero; ``eventry check`` shows what the settings connect to; ``--version``; every command has
a one-line help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner

from api.cli import main
from infra.config import Settings
from tests.cli import fails, run
from tests.conftest import postgres_settings


def eventry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("url", ["mysql://root@db/eventry", "postgre://db/eventry", "db.example.com/eventry"])
def test_an_unsupported_database_url_is_one_line_naming_it(tmp_path: Path, url: str) -> None:
    done = eventry({"DATABASE_URL": url, "EVENTRY_DATA_DIR": str(tmp_path / "var")}, "migrate")
    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: DATABASE_URL is not valid: ")
    assert "postgresql://" in line and "root@db" not in line, "the URL may hold a password"
    assert not (tmp_path / "var").exists(), "nothing was made on SQLite instead"


def test_a_mistyped_number_names_the_variable_and_its_default(env: dict[str, str]) -> None:
    output = fails({**env, "EVENTRY_BATCH_SIZE": "lots"}, "orgs", "list")
    assert output.strip().splitlines() == [
        "Error: EVENTRY_BATCH_SIZE='lots' is not valid: Input should be a valid integer, unable to parse "
        "string as an integer; correct it, or unset it for the default, 500"
    ]


def test_postgres_that_does_not_answer_is_one_line(env: dict[str, str]) -> None:
    down = {**env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/eventry"}
    for args in (("migrate",), ("orgs", "list"), ("worker",), ("serve",)):
        assert fails(down, *args).strip().splitlines() == [
            "Error: DATABASE_URL: no PostgreSQL answers at 127.0.0.1:1 (Connection refused): "
            "start it, or correct DATABASE_URL"
        ], args


def test_a_missing_database_names_it_and_how_to_create_it(
    env: dict[str, str], postgres_database: str
) -> None:
    url = postgres_database.rsplit("/", 1)[0] + "/no_such_database"
    [line] = fails({**env, "DATABASE_URL": url}, "migrate").strip().splitlines()
    assert (
        line.startswith("Error: DATABASE_URL: PostgreSQL at ")
        and "has no database 'no_such_database'" in line
    )
    assert "createdb" in line


def test_commands_before_migrate_say_to_migrate(env: dict[str, str], pg_settings: Settings) -> None:
    unmigrated = {**env, "DATABASE_URL": pg_settings.database_url or ""}
    for args in (("orgs", "list"), ("worker",), ("serve",), ("projections", "status")):
        assert fails(unmigrated, *args).strip().splitlines() == [
            "Error: DATABASE_URL: the database has no eventry tables yet: run `eventry migrate`"
        ], args
    assert fails(unmigrated, "check").splitlines()[1].startswith("tables    FAIL  PostgreSQL ")
    assert run(unmigrated, "migrate").startswith("migrated: PostgreSQL ")
    assert run(unmigrated, "orgs", "list").split()[:3] == ["ID", "SLUG", "NAME"]


def test_check_shows_each_part_and_whether_it_works(env: dict[str, str], postgres_database: str) -> None:
    output = run(env, "check")
    lines = output.splitlines()
    assert lines[0].startswith("database  ok    SQLite ") and lines[0].endswith(
        "(views: eventry-views.sqlite3)"
    )
    assert lines[1].startswith("tables    ok")
    assert lines[2] == f"redis     ok    {env['REDIS_URL']}"
    assert lines[3].startswith("worker          no projection worker has reported")

    pg = postgres_settings(postgres_database, env["REDIS_URL"])
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE ROLE eventry_check_secret LOGIN PASSWORD 'hunter2'")
    try:
        url = (pg.database_url or "").replace("postgres@", "eventry_check_secret:hunter2@")
        output = fails({**env, "DATABASE_URL": url, "REDIS_URL": "redis://:pw@127.0.0.1:1/0"}, "check")
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute("DROP ROLE eventry_check_secret")
    assert "hunter2" not in output and ":pw@" not in output, "passwords are never printed"
    assert "user eventry_check_secret" in output
    assert "REDIS_URL: no Redis answers at redis://:***@127.0.0.1:1/0" in output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == "eventry 0.1.0"


def test_every_command_has_a_one_line_help() -> None:
    missing = []

    def walk(command: click.Command, path: str) -> None:
        if not (command.help or "").strip() or not command.get_short_help_str().strip():
            missing.append(path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "eventry")
    assert missing == []


def test_a_missing_view_stops_commands_and_an_outdated_one_only_check(
    env: dict[str, str], pg_settings: Settings
) -> None:
    """A view made by older code still serves (/readyz names it); one that is missing does not."""
    migrated = {**env, "DATABASE_URL": pg_settings.database_url or ""}
    run(migrated, "migrate")
    with psycopg.connect(pg_settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE projection_state SET schema = 'older' WHERE name = 'relays'")
    run(migrated, "orgs", "list")
    assert "views made by another version of the code (relays): run `eventry migrate`" in fails(
        migrated, "check"
    )
    with psycopg.connect(pg_settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("DELETE FROM projection_state WHERE name = 'relays'")
    assert fails(migrated, "orgs", "list").strip().splitlines() == [
        "Error: DATABASE_URL: views missing (relays): run `eventry migrate`"
    ]
