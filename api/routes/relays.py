"""Relay registration (challenge/response) and liveness. Project configs: relay_configs.py."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate
from sentry_relay.auth import create_register_challenge, is_version_supported, validate_register_response
from sentry_relay.exceptions import RelayError, UnpackErrorSignatureExpired

from api.context import request_id, services
from api.errors import ApiError, detail
from api.openapi import DETAIL_OR_FIELDS, RELAY, operation
from api.relay_auth import authenticate_relay, is_internal, registered_relay
from api.response_fields import Body, Bool, Str
from api.screen import load_json
from commands.relays import DIFFERENT_KEY, RegisterRelay
from events import Meta

bp = Blueprint("relays", __name__)

RELAY_ID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$")
CHALLENGE_MAX_AGE = 60


class RelayChallengeRequest(Schema):
    """``POST /relays/register/challenge/``, signed with the registering relay's own key (the
    route reads it by hand, as Sentry's does: this describes it)."""

    class Meta:
        unknown = EXCLUDE

    relay_id = fields.String(required=True, validate=validate.Regexp(RELAY_ID.pattern))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.String()


class RelayResponseRequest(Schema):
    """``POST /relays/register/response/``: the challenge's token, signed again."""

    class Meta:
        unknown = EXCLUDE

    relay_id = fields.String(required=True, validate=validate.Regexp(RELAY_ID.pattern))
    token = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.String()


class RelayChallenge(Body):
    relay_id = Str()
    token = Str()


class RelayRegistered(Body):
    relay_id = Str()


class RelayLive(Body):
    is_healthy = Bool()


def _registration_body(required: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = load_json(request.get_data() or b"null")  # the screen's parser: also past its size
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise detail(400, "No valid json body")
    errors = {name: ["This field is required."] for name in required if not data.get(name)}
    if data.get("relay_id") and not RELAY_ID.match(str(data["relay_id"])):
        errors["relay_id"] = ["This value does not match the required pattern."]
    if data.get("public_key") and len(str(data["public_key"])) > 64:
        errors["public_key"] = ["Ensure this field has no more than 64 characters."]
    if errors:
        raise ApiError(400, errors)
    return data


def _signature() -> tuple[str, str]:
    relay_id = request.headers.get("X-Sentry-Relay-Id")
    signature = request.headers.get("X-Sentry-Relay-Signature")
    if not relay_id:
        raise detail(400, "Missing relay id header")
    if not signature:
        raise detail(400, "Missing relay signature")
    return relay_id, signature


def _unpack_error(exc: Exception) -> ApiError:
    return detail(400, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _version_supported(version: Any) -> bool:
    """Relay's own check; a version it cannot parse (or not a string) is no supported one."""
    if version is not None and not isinstance(version, str):
        return False
    try:
        return bool(is_version_supported(version))
    except RelayError:
        return False


@bp.post("/relays/register/challenge/")
@bp.response(200, RelayChallenge)
@operation(
    "Relay registration, step 1: a challenge for the relay's key",
    body=RelayChallengeRequest,
    auth=RELAY,
    errors=(400, 403),
    bad_request=DETAIL_OR_FIELDS,
)
def register_challenge() -> Any:
    data = _registration_body(("relay_id", "public_key"))
    relay_id, signature = _signature()
    if not _version_supported(data.get("version")):
        raise detail(403, "Relay version no longer supported, please upgrade to a more recent version")
    svc = services()
    if not svc.settings.relay_open_registration and not is_internal(str(data["public_key"])):
        raise detail(403, "Relay is not allowed to register")
    try:
        challenge = create_register_challenge(
            request.get_data(), signature, svc.settings.system_secret(), max_age=CHALLENGE_MAX_AGE
        )
    except Exception as exc:  # the library's errors: bad signature, encoding, payload
        raise _unpack_error(exc) from None
    if str(challenge["relay_id"]) != relay_id:
        raise detail(400, "relay_id in payload did not match header")
    known = registered_relay(relay_id)
    if known.exists and known.public_key != data["public_key"]:
        raise detail(400, DIFFERENT_KEY)
    return jsonify(relay_id=str(challenge["relay_id"]), token=challenge["token"])


@bp.post("/relays/register/response/")
@bp.response(200, RelayRegistered)
@operation(
    "Relay registration, step 2: the signed challenge registers the relay",
    body=RelayResponseRequest,
    auth=RELAY,
    errors=(400, 401, 409),
    bad_request=DETAIL_OR_FIELDS,
)
def register_response() -> Any:
    _registration_body(("relay_id", "token"))
    relay_id, signature = _signature()
    svc = services()
    try:
        verified = validate_register_response(
            request.get_data(), signature, svc.settings.system_secret(), max_age=CHALLENGE_MAX_AGE
        )
    except UnpackErrorSignatureExpired:
        raise detail(401, "Challenge expired") from None
    except Exception as exc:
        raise _unpack_error(exc) from None
    if str(verified["relay_id"]) != relay_id:
        raise detail(400, "relay_id in payload did not match header")
    public_key = str(verified["public_key"])
    command = RegisterRelay(relay_id, public_key, str(verified.get("version") or ""), is_internal(public_key))
    meta = Meta(
        actor_type="relay", actor_label=relay_id[:64], ip_address=request.remote_addr, request_id=request_id()
    )
    outcome = svc.dispatch(command, meta)
    response = jsonify(relay_id=relay_id)
    if outcome.position is not None:
        response.headers["X-Eventry-Position"] = str(outcome.position)
    return response


@bp.get("/relays/live/")
@bp.response(200, RelayLive)
@operation("Relay liveness check", auth=RELAY, errors=(400, 401))
def live() -> Any:
    authenticate_relay()
    return jsonify(is_healthy=True)
