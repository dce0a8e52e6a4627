"""Chunk upload throughput (MiB/s of 32 MiB requests: four 8 MiB chunks, as sentry-cli sends
them) through eventry, side by side with a baseline that only computes each chunk's sha1 and
writes the same bytes to a file on the same disk, in this process.

eventry runs as in production (``eventry serve --workers N`` and ``eventry worker`` on
PostgreSQL and Redis, blobs in the scratch data directory), up while the baseline runs too;
every request carries fresh random bytes, so nothing is deduplicated. Read the ratio.

    python bench/chunk_upload.py [--requests 12] [--rounds 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import alternate, production, serve, worker
from bench._result import Pair

NAME = "chunk_upload"
GOAL = (">=", 0.50)

MiB = 1024 * 1024
CHUNK = 8 * MiB


def body_of(chunks: list[bytes], boundary: str) -> bytes:
    parts = []
    for chunk in chunks:
        name = hashlib.sha1(chunk).hexdigest()
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + chunk
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def upload(port: int, path: str, token: str, requests: int) -> list[float]:
    """Seconds per 32 MiB request, one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times = []
    for _ in range(requests):
        chunks = [os.urandom(CHUNK) for _ in range(4)]
        boundary = os.urandom(12).hex()
        body = body_of(chunks, boundary)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"upload failed: {response.status}")
    conn.close()
    return times


def baseline(directory: Path, requests: int) -> list[float]:
    """The same work without HTTP, events or checks: sha1 of each chunk, bytes to a new file."""
    times = []
    for n in range(requests):
        chunks = [os.urandom(CHUNK) for _ in range(4)]
        started = time.perf_counter()
        for i, chunk in enumerate(chunks):
            hashlib.sha1(chunk).hexdigest()
            (directory / f"{n}-{i}").write_bytes(chunk)
        times.append(time.perf_counter() - started)
    return times


def mib_per_s(times: list[float]) -> float:
    return 32 / statistics.median(times)


def measure(requests: int = 12, rounds: int = 2, workers: int = 2) -> Pair:
    with production("eventry_bench_chunks") as dep:
        dep.cli("orgs", "create", "bench-org")
        token = dep.token("bench-org", "project:write")
        path = "/api/0/organizations/bench-org/chunk-upload/"
        plain = dep.scratch / "var" / "baseline"  # the same disk as the blobs
        plain.mkdir(parents=True)
        measured: list[float] = []
        base: list[float] = []
        with worker(dep), serve(dep, workers) as port:
            upload(port, path, token, 1)  # warm up
            alternate(
                rounds,
                lambda: measured.append(mib_per_s(upload(port, path, token, requests))),
                lambda: base.append(mib_per_s(baseline(plain, requests))),
                lambda: None,
            )
    top, base_top = max(measured), max(base)
    return Pair(
        NAME,
        top / base_top,
        top,
        base_top,
        "MiB/s",
        GOAL,
        details=[
            f"32 MiB requests (4 x 8 MiB, uncompressed), median of {requests}, best of {rounds} rounds, "
            f"{workers} gunicorn workers",
            f"eventry   {top:8.1f} MiB/s  (HTTP multipart, sha1 check, blob storage, events, view)",
            f"baseline  {base_top:8.1f} MiB/s  (sha1 + write the same bytes to disk)",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(measure(args.requests, args.rounds, args.workers).render())


if __name__ == "__main__":
    main()
