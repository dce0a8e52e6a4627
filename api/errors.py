"""One place that turns failures into JSON responses: nothing escapes as an HTML 500."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import eventsourcing.persistence as es
import psycopg
import psycopg_pool
import redis
from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from commands import DomainError
from commands.base import FieldErrors
from infra.dispatcher import FailedAfterAppend
from infra.engine import UnknownProjection
from infra.preflight import not_migrated
from infra.snowflake import SnowflakeError
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.api")

OUTAGES = (
    es.OperationalError,
    es.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
)


class ApiError(Exception):
    """An error the HTTP layer raises itself, with Sentry's body shape."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"detail": message}, headers)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Any:
        return jsonify(exc.body), exc.status, exc.headers

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        if isinstance(exc, FieldErrors):
            return jsonify(exc.errors), exc.status
        return jsonify(detail=exc.detail), exc.status

    @app.errorhandler(FailedAfterAppend)
    def _after_append(exc: FailedAfterAppend) -> Any:
        return (
            jsonify(detail=exc.error.detail),
            exc.error.status,
            {"X-Eventry-Position": str(exc.position)},
        )

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Any:
        return jsonify(exc.normalized_messages()), 400

    @app.errorhandler(SnowflakeError)
    def _ids(exc: SnowflakeError) -> Any:
        return jsonify(detail=str(exc)), 503, {"Retry-After": "1"}

    @app.errorhandler(UnknownProjection)
    def _unmigrated(exc: UnknownProjection) -> Any:
        log(LOGGER, logging.ERROR, "read model missing", error=str(exc))
        return jsonify(detail="The service is not migrated yet; run `eventry migrate`"), 503

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        return jsonify(detail=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if not_migrated(exc):  # a table missing: no retry helps until someone migrates
            log(LOGGER, logging.ERROR, "tables missing", error=repr(exc), fix="run `eventry migrate`")
            return jsonify(detail="The service is not migrated yet; run `eventry migrate`"), 503
        if isinstance(exc, OUTAGES):
            log(LOGGER, logging.ERROR, "backing service unavailable", error=repr(exc))
            return (
                jsonify(detail="A backing service is unavailable; try again"),
                503,
                {"Retry-After": "1"},
            )
        LOGGER.exception("unhandled error")
        return jsonify(detail="Internal Error"), 500
