"""``eventry projections status|rebuild|errors|retry``: the read models and their positions."""

from __future__ import annotations

import json
import sys

import click

from api.cli.common import JSON_OPTION, emit, services
from infra.bootstrap import Services
from infra.engine import UnknownProjection


@click.group()
def projections() -> None:
    """Inspect and rebuild read models."""


@projections.command("status")
@JSON_OPTION
def projections_status(as_json: bool) -> None:
    """Each projection's position, generation and lag behind the log."""
    with services() as svc:
        rows = [
            {
                "name": s.name,
                "generation": s.generation,
                "position": s.position,
                "head": s.head,
                "lag": s.lag,
                "rebuilding": s.rebuilding or "",
            }
            for s in svc.engine.status()
        ]
    emit(rows, as_json, ["name", "generation", "position", "head", "lag", "rebuilding"])


@projections.command("rebuild")
@click.argument("name")
def projections_rebuild(name: str) -> None:
    """Replay the log into a new generation of NAME; swap when caught up."""
    with services() as svc:
        _known_projection(svc, name)
        head = max(svc.store.head(), 1)
        with click.progressbar(length=head, label=f"rebuilding {name}", file=sys.stderr) as bar:
            done = [0]

            def progress(position: int, total: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            generation = svc.engine.rebuild(name, progress)
    click.echo(f"{name}: generation {generation} is active")


@projections.command("errors")
@click.option("--projection", "name", default=None, help="only this projection")
@click.option("--json", "as_json", is_flag=True, help="every field, the whole error text")
def projections_errors(name: str | None, as_json: bool) -> None:
    """Events a projection could not fold (failed) and the later ones of their streams (waiting)."""
    with services() as svc:
        if name is not None:
            _known_projection(svc, name)
        parked = svc.engine.parked(name)
    if as_json:
        click.echo(json.dumps([p.__dict__ for p in parked], indent=2, default=str))
        return
    if not parked:
        click.echo("no parked events")
        return
    rows = [
        {**p.__dict__, "error": p.error.splitlines()[0][:100] if p.error else f"({p.status})"} for p in parked
    ]
    emit(rows, False, ["projection", "generation", "position", "stream", "topic", "attempts", "error"])


@projections.command("retry")
@click.argument("name")
def projections_retry(name: str) -> None:
    """Retry NAME's parked events now (after a fix): each stream in order, up to its first failure."""
    with services() as svc:
        _known_projection(svc, name)
        applied = svc.engine.retry(name)
        generation = next((s.generation for s in svc.engine.status() if s.name == name), None)
        left = [p for p in svc.engine.parked(name) if p.generation == generation]
    click.echo(f"{name}: {applied} parked events applied, {len(left)} still parked")
    failed = [p for p in left if p.status == "failed"]
    if failed:
        raise click.ClickException(f"position {failed[0].position} still fails: {failed[0].error}")


def _known_projection(svc: Services, name: str) -> None:
    try:
        svc.engine.projection(name)
    except UnknownProjection:
        raise click.ClickException(
            f"unknown projection {name!r}; one of: {', '.join(svc.engine.projections)}"
        ) from None
