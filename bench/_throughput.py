"""A throughput pair: eventry and its baseline loaded over HTTP by the same closed-loop client,
rounds alternating, both servers and the worker up throughout; the best round of each side."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bench._harness import Production, Request, alternate, load
from bench._result import Pair

Side = tuple[int, Request]  # a server's port and the requests to send it


def http_arguments(clients: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    return parser.parse_args()


def http_pair(
    dep: Production, pair: tuple[str, tuple[str, float], str], sides: tuple[Side, Side],
    runs: tuple[float, int, int, int], between: Callable[[], None],
) -> Pair:  # fmt: skip
    """``pair`` is (name, goal, what is compared); ``runs`` is (seconds, clients, workers, rounds);
    ``between`` runs after each round (the views catching up)."""
    name, goal, what = pair
    (port, subject), (base, baseline_make) = sides
    seconds, clients, workers, rounds = runs
    load(port, subject, 1, clients)  # both servers' workers warm: pools open, code paths run
    load(base, baseline_make, 1, clients)
    between()
    measured: list[dict[str, float]] = []
    baseline: list[dict[str, float]] = []
    alternate(
        rounds,
        lambda: measured.append(load(port, subject, seconds, clients, dep.cpu)),
        lambda: baseline.append(load(base, baseline_make, seconds, clients, dep.cpu)),
        between,
    )
    top, base_top = best(measured), best(baseline)
    return Pair(
        name,
        top["rps"] / base_top["rps"],
        top["rps"],
        base_top["rps"],
        "req/s",
        goal,
        details=[
            f"{what}; {workers} gunicorn workers, {clients} clients, {seconds:g}s x {rounds} rounds, "
            "best round of each",
            describe("eventry", top),
            describe("baseline", base_top),
            cpu_line(measured, baseline),
        ],
        extra={"errors": int(top["errors"] + base_top["errors"]), "cpu_ratio": cpu_ratio(measured, baseline)},
    )


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the highest throughput: the one least disturbed by the shared machine."""
    return max(runs, key=lambda r: r["rps"])


def describe(name: str, run: dict[str, float]) -> str:
    cpu = f"  CPU {run['cpu_ms']:.2f} ms/request" if "cpu_ms" in run else ""
    return (
        f"{name:<9} {run['rps']:8.1f} req/s  p50 {run['p50_ms']:6.2f} ms  p99 {run['p99_ms']:6.2f} ms  "
        f"errors {int(run['errors'])}  ({int(run['requests'])} requests){cpu}"
    )


def cpu_ratio(subject: list[dict[str, float]], baseline: list[dict[str, float]]) -> float | None:
    """Baseline CPU per request over eventry's (least of each side's rounds): the throughput
    ratio the two would reach on a machine of their own, CPU-bound."""
    if not all("cpu_ms" in r for r in (*subject, *baseline)):
        return None
    return min(r["cpu_ms"] for r in baseline) / min(r["cpu_ms"] for r in subject)


def cpu_line(subject: list[dict[str, float]], baseline: list[dict[str, float]]) -> str:
    ratio = cpu_ratio(subject, baseline)
    return "CPU ratio (baseline/eventry CPU per request): " + ("-" if ratio is None else f"{ratio:.3f}")
