"""The baseline for the relay config benchmark: the raw endpoint. One Redis MGET of the
requested keys and the stored bytes concatenated into ``{"configs": {key: document}}``, nothing
parsed or re-encoded; served as eventry is (``asgi_app``, the same gunicorn worker class)."""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request

from api.asgi import threaded

app = Flask("baseline-mget")
client = redis.Redis.from_url(os.environ["BASELINE_REDIS_URL"])


@app.post("/mget")
def mget() -> Response:
    keys = (request.get_json(silent=True) or {}).get("publicKeys") or []
    values = client.mget([f"relayconfig:{k}" for k in keys])
    found = [b'"' + k.encode() + b'":' + _bytes(v) for k, v in zip(keys, values, strict=True) if v]
    return Response(b'{"configs":{' + b",".join(found) + b"}}", mimetype="application/json")


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


asgi_app = threaded(app)
