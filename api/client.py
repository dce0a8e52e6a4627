"""A Python client for eventry's HTTP API (and Sentry's, where they agree).

    from api.client import EventryClient
    client = EventryClient("http://127.0.0.1:8000", token="sntryu_...")
    client.put("/projects/acme/web/metrics/visibility/",
               {"operationType": "blockMetric", "metricMri": "c:custom/x@none"})
    client.get("/projects/acme/web/options/")      # sees the write: read-your-writes

Paths are relative to ``/api/0``. Every write carries an ``Idempotency-Key`` (one per call,
reused by its retries), so retrying after a lost response never applies a write twice. Reads
send the highest ``X-Eventry-Position`` this client has seen as ``X-Eventry-Min-Position``.
502, 503 and 504 answers and connection failures are retried with exponential backoff
(honouring ``Retry-After``); other failures raise a typed ``ApiError``.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Response:
    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def position(self) -> int | None:
        raw = self.headers.get("x-eventry-position")
        return int(raw) if raw and raw.isdigit() else None


class ApiError(Exception):
    """An answer with a status of 400 or more, after retries."""

    status = 0

    def __init__(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.data = data
        self.headers = headers or {}
        detail = data.get("detail") if isinstance(data, dict) else None
        super().__init__(f"{status}: {detail or data}")

    @property
    def detail(self) -> Any:
        return self.data.get("detail") if isinstance(self.data, dict) else self.data


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    status = 503


class ServerError(ApiError):
    status = 500


class TransportError(Exception):
    """The server could not be reached, after retries."""


ERRORS: dict[int, type[ApiError]] = {
    c.status: c
    for c in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, ServiceUnavailable)
}


def error_for(status: int, data: Any, headers: dict[str, str]) -> ApiError:
    cls = ERRORS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, data, headers)


class EventryClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        prefix: str = "/api/0",
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        read_your_writes: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.read_your_writes = read_your_writes
        self.position = 0  # the newest log position this client has written or read

    def get(
        self, path: str, params: dict[str, Any] | None = None, min_position: int | None = None
    ) -> Response:
        headers = {}
        wanted = min_position if min_position is not None else (self.position if self.read_your_writes else 0)
        if wanted:
            headers["X-Eventry-Min-Position"] = str(wanted)
        return self.request("GET", path, params=params, headers=headers)

    def put(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Response:
        return self._write("PUT", path, body, idempotency_key)

    def post(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Response:
        return self._write("POST", path, body, idempotency_key)

    def delete(self, path: str, idempotency_key: str | None = None) -> Response:
        return self._write("DELETE", path, None, idempotency_key)

    def _write(self, method: str, path: str, body: Any, idempotency_key: str | None) -> Response:
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return self.request(method, path, body=body, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        url = self._url(path, params)
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(self.retries + 1):
            try:
                response = self._send(method, url, data, all_headers)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.retries:
                    raise TransportError(f"{method} {url}: {exc}") from exc
                self._sleep(attempt, None)
                continue
            if response.status in RETRY_STATUSES and attempt < self.retries:
                self._sleep(attempt, response.headers.get("retry-after"))
                continue
            if response.position is not None:
                self.position = max(self.position, response.position)
            if response.status >= 400:
                raise error_for(response.status, response.data, response.headers)
            return response
        raise AssertionError("unreachable")

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        if not path.startswith(self.prefix + "/") and not path.startswith("/healthz"):
            path = f"{self.prefix}/{path.lstrip('/')}"
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as raw:
                return _response(raw.status, raw.read(), dict(raw.headers))
        except urllib.error.HTTPError as err:
            return _response(err.code, err.read(), dict(err.headers))

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay * random.uniform(0.8, 1.2))


def _response(status: int, payload: bytes, headers: dict[str, str]) -> Response:
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        data = json.loads(payload) if payload else None
    except ValueError:
        data = payload.decode(errors="replace")
    return Response(status, data, lowered)
