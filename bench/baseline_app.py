"""The baseline for write benchmarks: a Flask endpoint that inserts one row into PostgreSQL
and returns JSON, with the same driver and pool as eventry, served as eventry is
(``asgi_app``: the same event loop and threads, under the same gunicorn worker class)."""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request
from psycopg_pool import ConnectionPool

from api.asgi import threaded

app = Flask("baseline")
pool = ConnectionPool(os.environ["BASELINE_CONNINFO"], min_size=1, max_size=4, open=True)


@app.put("/insert")
def insert() -> Response:
    body = request.get_json(silent=True) or {}
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO baseline_rows (body) VALUES (%s) RETURNING id", (str(body),)
        ).fetchone()
    return jsonify(id=row[0] if row else None)


asgi_app = threaded(app)
