"""Every benchmark of issue 13, one after another, and a table of their ratios against the goals.

Each pair (eventry and its baseline) runs in the same run with the same processes alive: eventry
as in production (``eventry serve --workers 2`` with gunicorn's asyncio worker, ``eventry
worker``, PostgreSQL, Redis, ``PROMETHEUS_MULTIPROC_DIR``), baselines under the same gunicorn
command and worker class. Short durations by default, so the whole run stays under 15 minutes
on a 2-core machine; ``--long`` runs each about three times as long.

    python bench/all.py [--json] [--long] [--only NAME ...]

With ``--json`` the last line is one JSON object ``{name: {"ratio": x, "subject": ...,
"baseline": ..., "unit": ..., "goal": ..., "met": ...}}``. Figures also go to standard error as
each benchmark ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import block_metric_http, chunk_upload, cold_write, rebuild_speed, relay_configs, set_commits
from bench._result import Pair, failed, table

# name: (the module, its arguments by default, with --long); the order is the table
BENCHMARKS: dict[str, tuple[Any, dict[str, Any], dict[str, Any]]] = {
    "block_metric_http": (block_metric_http, {"seconds": 6, "rounds": 2}, {"seconds": 15, "rounds": 3}),
    "relay_configs": (relay_configs, {"seconds": 6, "rounds": 2}, {"seconds": 15, "rounds": 3}),
    # 20 x 20: views of 3,000 to 57,000 events, where replay speed shows (at 4 x 10, folding a
    # view's 3,500 events takes about as long as a rebuild's fixed cost; see rebuild_speed)
    "rebuild_min": (rebuild_speed, {"orgs": 20, "projects": 20}, {"orgs": 40, "projects": 20}),
    "set_commits_visible_vs_insert": (set_commits, {"rounds": 2}, {"rounds": 3}),
    "chunk_upload": (chunk_upload, {"requests": 6, "rounds": 2}, {"requests": 12, "rounds": 3}),
    "cold_write_ms": (cold_write, {"restarts": 3}, {"restarts": 5}),
}


def run(name: str, measure: Callable[..., Pair], kwargs: dict[str, Any]) -> Pair:
    load = os.getloadavg()[0]
    began = time.monotonic()
    try:
        pair = measure(**kwargs)
    except Exception as exc:  # one broken benchmark must not cost the others' figures
        traceback.print_exc(file=sys.stderr)
        module = BENCHMARKS[name][0]
        pair = failed(name, "", module.GOAL, f"{type(exc).__name__}: {exc}"[:500])
    pair.extra.update(seconds=round(time.monotonic() - began, 1), load_before=round(load, 2))
    pair.extra["load_after"] = round(os.getloadavg()[0], 2)
    conditions = f"{pair.extra['seconds']}s; load average {load:.1f} -> {pair.extra['load_after']:.1f}"
    print(f"\n{pair.render()}\n  ({conditions} on {os.cpu_count()} CPUs)", file=sys.stderr, flush=True)
    return pair


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    parser.add_argument(
        "--long", action="store_true", help="each script's longer defaults (about 3x the time)"
    )
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    began = time.monotonic()
    pairs = []
    for name, (module, short, long) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"[{time.monotonic() - began:6.0f}s] {name} ...", file=sys.stderr, flush=True)
        pairs.append(run(name, module.measure, long if args.long else short))
    print(f"\nissue 13 benchmarks, {time.monotonic() - began:.0f}s, {os.cpu_count()} CPUs, "
          f"load average now {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(table(pairs))
    if args.json:
        print(json.dumps({p.name: p.as_json() for p in pairs}))


if __name__ == "__main__":
    main()
