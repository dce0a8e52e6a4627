"""The baseline for the relay config benchmark: one Redis MGET of the requested keys, as JSON."""

from __future__ import annotations

import json
import os

import redis
from flask import Flask, jsonify, request

app = Flask("baseline-mget")
client = redis.Redis.from_url(os.environ["BASELINE_REDIS_URL"])


@app.post("/mget")
def mget() -> object:
    keys = (request.get_json(silent=True) or {}).get("publicKeys") or []
    values = client.mget([f"relayconfig:{k}" for k in keys])
    return jsonify(configs={k: json.loads(v) for k, v in zip(keys, values, strict=True) if v})
