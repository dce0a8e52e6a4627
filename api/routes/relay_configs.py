"""``POST /api/0/relays/projectconfigs/?version=1|2|3``: what Relay fetches, from the cache.

Versions 2 and 3 answer by concatenating the stored bytes of each document (full or minimal,
both pre-encoded by the projection) with what the fetch adds (``lastFetch``, ``sampling``):
nothing is parsed or encoded per document (``projections/relay_encoding.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from api.context import services
from api.drf import BIGINT_MAX
from api.errors import detail
from api.lean import Handover, LeanRequest
from api.openapi import RELAY, operation
from api.relay_auth import (
    AuthenticatedRelay,
    authenticate_relay,
    claim_args,
    claim_command,
    refuse_replay,
    verified_relay,
)
from api.response_fields import Body, ListOf, Map, Str, strings
from infra.bootstrap import Services
from infra.relay_cache import RelayConfigCache
from projections import relay_configs
from projections.relay_document import (
    DYNAMIC_SAMPLING_FEATURE,
    GLOBAL_CONFIG,
    SAMPLING,
    minimal,
    timestamp,
    with_features,
)
from projections.relay_encoding import (
    compact,
    fetch_head,
    is_disabled,
    rev_of,
    spliced_members,
    spliced_parts,
)

bp = Blueprint("relay_configs", __name__)
MAX_KEYS = 1000
DISABLED: dict[str, Any] = {"disabled": True}
DISABLED_JSON = compact(DISABLED).encode()
GLOBAL_MEMBERS = b',"global":' + compact(GLOBAL_CONFIG).encode() + b',"global_status":"ready"'
SAMPLING_JSON = compact(SAMPLING).encode()


class ProjectConfigsRequest(Schema):
    """``projects`` (version 1) or ``publicKeys`` (2, 3); the route reads it by hand, as
    Sentry's does: this describes it."""

    class Meta:
        unknown = EXCLUDE

    publicKeys = fields.List(fields.String(), validate=validate.Length(max=MAX_KEYS), allow_none=True)
    projects = fields.List(fields.Integer(), validate=validate.Length(max=MAX_KEYS), allow_none=True)
    revisions = fields.List(fields.String(allow_none=True), allow_none=True)
    fullConfig = fields.Boolean()
    noCache = fields.Boolean()
    global_ = fields.Boolean(data_key="global")


class ProjectConfigs(Body):
    """``configs`` by public key (v2, v3) or project id (v1): the stored document, or
    ``{"disabled": true}``; ``pending``, ``unchanged``, ``global`` only when they apply."""

    configs = Map(Map())
    pending = ListOf(strings(), optional=True)
    unchanged = ListOf(strings(), optional=True)
    global_ = Map(optional=True, data_key="global")
    global_status = Str(optional=True, enum=["ready"])


CONFIG_VERSION = [
    {
        "in": "query",
        "name": "version",
        "required": False,
        "schema": {"type": "string", "enum": ["1", "2", "3"]},
    }
]


PATH = "/api/0/relays/projectconfigs/"  # where api/app.py mounts this blueprint's route


@bp.post("/relays/projectconfigs/")
@bp.response(200, ProjectConfigs)
@operation(
    "Project configs for Relay, by public key (versions 2, 3) or project id (version 1)",
    body=ProjectConfigsRequest,
    query=CONFIG_VERSION,
    auth=RELAY,
    errors=(400, 401, 403),
)
def project_configs() -> Any:
    # The message is marked as seen with the cache read (one round trip): nothing but an error
    # is answered before that marker is set (``_stored``, or below for version 1).
    relay, data = authenticate_relay(claim=False)
    version = request.args.get("version", "1")
    check_request(relay, version, data)
    svc = services()
    if version == "1":  # always the full config, without the quotas it leaves empty
        project_ids = _id_list(data.get("projects"))
        refuse_replay(claim_command(svc.redis, relay.replay_marker))
        return jsonify(configs=_by_project(svc, project_ids))
    body = configs_body(svc, relay, data, version == "3")
    response: Response = current_app.response_class(body, mimetype="application/json")
    return response


LEAN_VERSIONS = {"version=2": "2", "version=3": "3"}  # query strings the lean handler takes


def lean_project_configs(svc: Services, call: LeanRequest) -> bytes:
    """The view's answer to an ordinary version 2 or 3 request, without Flask (``api.lean``):
    the same steps from the same functions, after the input screen's parse of the body."""
    version = LEAN_VERSIONS.get(call.query)
    if version is None:
        raise Handover
    relay_id = call.header("HTTP_X_SENTRY_RELAY_ID") or ""
    relay = verified_relay(svc, relay_id, call.header("HTTP_X_SENTRY_RELAY_SIGNATURE"), call.body)
    check_request(relay, version, call.data)
    return configs_body(svc, relay, call.data, version == "3")


def check_request(relay: AuthenticatedRelay, version: str, data: Any) -> None:
    """Sentry's refusals of a verified request, in its order."""
    if not relay.internal:  # Sentry serves configs to internal relays only, whatever is asked
        raise detail(403, "Relay unauthorized for config information")
    if version not in ("1", "2", "3"):
        raise detail(400, "Unsupported version, we only support versions 1 to 3.")
    if not isinstance(data, dict):
        raise detail(400, "No valid json body")


def configs_body(svc: Services, relay: AuthenticatedRelay, data: dict[str, Any], v3: bool) -> bytes:
    """The answer to a version 2 or 3 request that passed ``check_request``; marks the message
    as seen (401 if it was). No request context: ``api.lean`` calls it too."""
    public_keys = _key_list(data.get("publicKeys"))
    full = bool(data.get("fullConfig"))
    # Sentry's v3 path (a full config, cached) answers ``pending`` always; partial or
    # uncached fetches are handled as version 2, without it.
    asynchronous = v3 and full and not data.get("noCache")
    configs, pending, unchanged = _by_key(svc, relay, public_keys, data, full, asynchronous)
    body = [b'{"configs":', *configs]
    if asynchronous:
        body += [b',"pending":', compact(pending).encode() if pending else b"[]"]
    if unchanged:
        body += [b',"unchanged":', compact(unchanged).encode()]
    if v3 and data.get("global"):
        body.append(GLOBAL_MEMBERS)
    body.append(b"}")
    return b"".join(body)


def _key_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(map(isinstance, raw, repeat(str))) or len(raw) > MAX_KEYS:
        raise detail(400, f"publicKeys must be a list of at most {MAX_KEYS} strings")
    return list(dict.fromkeys(raw))


def _id_list(raw: Any) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_KEYS:
        raise detail(400, f"projects must be a list of at most {MAX_KEYS} project ids")
    try:
        ids = [int(p) for p in raw]
    except (TypeError, ValueError, OverflowError):
        raise detail(400, "projects must be a list of project ids") from None
    if any(abs(i) > BIGINT_MAX for i in ids):  # no id column holds it: the lookup would fail
        raise detail(400, "projects must be a list of project ids")
    return ids


def _revisions(data: dict[str, Any], public_keys: list[str]) -> dict[str, str]:
    raw = data.get("revisions")
    if not isinstance(raw, list):
        return {}
    return {k: r for k, r in zip(data.get("publicKeys") or [], raw, strict=False) if isinstance(r, str)}


def _stored(
    svc: Services, relay: AuthenticatedRelay, public_keys: list[str], no_cache: bool, full: bool
) -> list[bytes | None]:
    """Each key's document (full or minimal) from Redis, the misses from the view (and put back
    into Redis), in the keys' order (None: the view has none); 401 for a message seen before
    (its marker set in the same round trip)."""
    cache = RelayConfigCache(svc.redis)
    claimed, cached = cache.read_after(claim_args(relay.replay_marker), [] if no_cache else public_keys, full)
    refuse_replay(claimed)
    docs = cached or [None] * len(public_keys)  # (none read: ``noCache``, or no keys)
    if None not in docs:
        return docs
    missing = [k for k, doc in zip(public_keys, docs, strict=True) if doc is None]
    with svc.engine.read("relay_configs") as view:
        from_view = relay_configs.documents(view, missing, full)
    if from_view and not no_cache:
        cache.fill(from_view, full)
    found = {k: doc.encode() for k, doc in from_view.items()}
    return [doc or found.get(k) for k, doc in zip(public_keys, docs, strict=True)]


def _served(svc: Services, doc: dict[str, Any], full: bool, now: str) -> dict[str, Any]:
    """The stored (full) document as this fetch gets it."""
    if doc.get("disabled"):
        return doc
    doc["lastFetch"] = now
    return with_features(doc if full else minimal(doc), svc.settings.features)


def _by_key(
    svc: Services,
    relay: AuthenticatedRelay,
    public_keys: list[str],
    data: dict[str, Any],
    full: bool,
    asynchronous: bool,
) -> tuple[list[bytes | memoryview], list[str], list[str]]:
    """The ``configs`` object (pieces of its JSON, joined once with the rest of the response),
    the keys ``pending`` and those ``unchanged``."""
    stored = _stored(svc, relay, public_keys, bool(data.get("noCache")), full)
    revisions = _revisions(data, public_keys)
    lagging = asynchronous and None in stored and _view_lags(svc)
    now = _now()
    sampling = SAMPLING_JSON if DYNAMIC_SAMPLING_FEATURE in svc.settings.features else None
    head = fetch_head(now.encode())
    names = _names(public_keys)
    pending: list[str] = []
    unchanged: list[str] = []
    # Each member as ',"key":' and its pieces; the first comma becomes the opening brace.
    members = None if revisions or sampling else spliced_members(names, stored, head)
    if members is None:  # not every document found and laid out, or more to do: one by one
        members = []
        add, extend = members.append, members.extend
        for public_key, name, raw in zip(public_keys, names, stored, strict=True):
            if raw is None:
                # Unknown to the view: not yet projected (Relay asks again) or no such key.
                if lagging:
                    pending.append(public_key)
                else:
                    extend((name, DISABLED_JSON))
                continue
            if revisions and public_key in revisions and revisions[public_key] == _rev(raw):
                unchanged.append(public_key)
                continue
            served = spliced_parts(raw, head, sampling)
            if served is None:  # not in the stored layout (an older version cached it): the slow way
                served = (compact(_served(svc, json.loads(raw), full, now)).encode(),)
            add(name)
            extend(served)
    if members:
        members[0] = b"{" + members[0][1:]
    else:
        members.append(b"{")
    members.append(b"}")
    return members, pending, unchanged


def _names(public_keys: list[str]) -> list[bytes]:
    """Each key's member name after a comma, and a colon. Every real key is plain (ASCII
    letters, digits, ``-`` and ``_``: its JSON is itself, quoted): a few C-level passes over
    all of them check it."""
    joined = "".join(public_keys)
    if joined.isascii() and _alnum(joined.encode()) and "" not in public_keys:  # no NUL to split at
        return (',"' + '":\0,"'.join(public_keys) + '":').encode().split(b"\0")
    return [b"," + compact(k).encode() + b":" for k in public_keys]


def _alnum(ascii: bytes) -> bool:
    """Only ASCII letters, digits, ``-`` and ``_`` (``bytes.isalnum`` reads a table; the
    ``str`` one asks Unicode's database of each character: 20 µs for 100 keys)."""
    return ascii.replace(b"-", b"").replace(b"_", b"").isalnum()


def _rev(raw: bytes) -> str | None:
    """A stored document's ``rev`` (none for a disabled one)."""
    if is_disabled(raw):
        return None
    rev = rev_of(raw)
    return rev if rev is not None else json.loads(raw).get("rev")


def _by_project(svc: Services, project_ids: list[int]) -> dict[str, Any]:
    """Version 1: one config per project id, listing every active key of the project."""
    configs: dict[str, Any] = {}
    with svc.engine.read("relay_configs") as view:
        for project_id in project_ids:
            docs = [json.loads(d) for d in relay_configs.project_documents(view, project_id)]
            enabled = [d for d in docs if not d.get("disabled")]
            if not enabled:
                configs[str(project_id)] = DISABLED
                continue
            merged = dict(enabled[0])
            merged["publicKeys"] = [k for d in enabled for k in d["publicKeys"]]
            if not merged["config"].get("quotas"):  # the newest Sentry leaves empty quotas out
                merged["config"] = {k: v for k, v in merged["config"].items() if k != "quotas"}
            configs[str(project_id)] = _served(svc, merged, True, _now())
    return configs


def _view_lags(svc: Services) -> bool:
    return svc.engine.positions(["relay_configs"]).get("relay_configs", 0) < svc.store.head()


def _now() -> str:
    return timestamp(datetime.now(UTC))
