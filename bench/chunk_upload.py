"""Chunk upload throughput (MiB/s of 32 MiB requests: four 8 MiB chunks, as sentry-cli sends
them) through ``eventry serve``, side by side with a baseline that only computes each chunk's
sha1 and writes the same bytes to a file on the same disk, in this process.

The server runs the embedded default (SQLite, in-process Redis) with its blobs in a scratch
directory; every request carries fresh random bytes, so nothing is deduplicated. Read the ratio.

    python bench/chunk_upload.py [--requests 12] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import bench_env, cli, eventry, process
from infra.redis import stop_embedded

MiB = 1024 * 1024
CHUNK = 8 * MiB
PORT = 8793


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


def upload(path: str, token: str, requests: int) -> list[float]:
    """Seconds per 32 MiB request, one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eventry-bench-", dir=Path.cwd()) as scratch:
        env = bench_env(EVENTRY_DATA_DIR=str(Path(scratch) / "var"))
        try:
            cli(env, "orgs", "create", "bench-org")
            created = cli(env, "tokens", "create", "--org", "bench-org", "--scopes", "project:write")
            token = created.split()[-1]
            path = "/api/0/organizations/bench-org/chunk-upload/"
            plain = Path(scratch) / "baseline"
            plain.mkdir()
            measured, base = [], []
            with process(eventry("serve", "--port", str(PORT)), env, f"http://127.0.0.1:{PORT}/healthz"):
                upload(path, token, 1)  # warm up
                for _ in range(args.rounds):
                    measured.append(mib_per_s(upload(path, token, args.requests)))
                    base.append(mib_per_s(baseline(plain, args.requests)))
        finally:
            stop_embedded(Path(scratch) / "var")  # the data directory's Redis outlives serve
    best_measured, best_base = max(measured), max(base)
    print(
        "\nchunk upload, 32 MiB requests (4 x 8 MiB, uncompressed), "
        f"median of {args.requests}, best of {args.rounds}"
    )
    print(f"  eventry   {best_measured:8.1f} MiB/s  (HTTP multipart, sha1 check, blob storage, events, view)")
    print(f"  baseline  {best_base:8.1f} MiB/s  (sha1 + write the same bytes to disk)")
    print(f"  ratio eventry/baseline: {best_measured / best_base:.2f}")


if __name__ == "__main__":
    main()
