"""``eventry export`` and ``eventry import``: the log as NDJSON, to back up, move or restore a
store (the embedded SQLite to PostgreSQL is an export and an import)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import click

from api.cli.common import services
from infra.bootstrap import Services, migrate
from infra.config import Settings
from infra.transfer import ImportRefused, export_log, import_log


@click.command("export")
@click.argument("path", default="-", type=click.Path(dir_okay=False, allow_dash=True))
def export_command(path: str) -> None:
    """Write the log to PATH (default: standard output) as NDJSON, one event a line, in log order."""
    with services() as svc, click.open_file(path, "w", encoding="utf-8", atomic=path != "-") as out:
        head = svc.store.head()
        with click.progressbar(length=max(head, 1), label="exporting", file=sys.stderr) as bar:
            count = export_log(svc.store, out.write, lambda position, _: bar.update(position - bar.pos))
    click.echo(f"exported {count} events (log position {head})", err=True)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_command(path: str) -> None:
    """Load an export into this (empty) store, at the same positions, as the current event versions;
    then rebuild every view from it."""
    migrate(Settings.from_env())  # the tables, on a fresh database too
    with services() as svc, click.open_file(path, "r", encoding="utf-8") as lines:
        size = os.fstat(lines.fileno()).st_size if path != "-" else 0
        with click.progressbar(length=max(size, 1), label="importing", file=sys.stderr) as bar:
            try:
                count = import_log(svc.store, _counted(lines, bar))
            except ImportRefused as exc:
                raise click.ClickException(f"nothing imported: {exc}") from None
        click.echo(f"imported {count} events (log position {svc.store.head()})", err=True)
        _rebuild_views(svc)


def _counted(lines: IO[str], bar: Any) -> Iterator[str]:
    for line in lines:
        bar.update(len(line.encode()))
        yield line


def _rebuild_views(svc: Services) -> None:
    """Every view replayed from the imported log (what ``eventry projections rebuild`` does)."""
    names, head = list(svc.engine.projections), max(svc.store.head(), 1)
    with click.progressbar(length=head * len(names), label="rebuilding views", file=sys.stderr) as bar:
        for done, name in enumerate(names):
            svc.engine.rebuild(name, _advance(bar, done * head))
            bar.update((done + 1) * head - bar.pos)
    click.echo(f"rebuilt {len(names)} views", err=True)


def _advance(bar: Any, base: int) -> Callable[[int, int], None]:
    """A rebuild's progress, ``base`` along the bar."""
    return lambda position, _: bar.update(base + position - bar.pos)
