"""Schemathesis over every operation of the OpenAPI document, against ``eventry serve --workers 2``
and ``eventry worker`` on a scratch PostgreSQL database and Redis. The suite runs the same with a
few examples per operation; this runs as many as you ask for. Exit status 1 on any failure
(a 5xx, or a response that breaks the document).

    python bench/fuzz_api.py [--examples 500] [--seed N | --random] [--only PATH-PART]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fuzz import deployment, fuzz, summary
from bench._harness import REDIS_URL, scratch_database
from tests.integration.test_serve import free_port


def progress(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=int, default=500, help="positive and negative examples per operation"
    )
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (the same run every time)")
    parser.add_argument("--random", action="store_true", help="a new random run instead of a seeded one")
    parser.add_argument("--only", help="only operations whose 'METHOD path' contains this")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    name = f"eventry_fuzz_{secrets.token_hex(3)}"
    with (
        tempfile.TemporaryDirectory() as data_dir,
        scratch_database(name) as database_url,
        deployment(database_url, REDIS_URL, Path(data_dir), free_port(), args.workers) as dep,
    ):
        report = fuzz(dep, args.examples, None if args.random else args.seed, args.only, progress)
        if report.failures:
            print((Path(data_dir) / "fuzz-server.log").read_text()[-20000:])
    print(summary(report))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
