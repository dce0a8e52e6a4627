"""API tokens: shown once, stored as a SHA-256 hash.

Two shapes, as Sentry makes them: user auth tokens (``sntryu_`` and 64 hex digits) and
organization auth tokens (``sntrys_``, a base64 JSON payload naming the server and the
organization, ``_``, a random secret), whose payload sentry-cli reads to know where to send
requests and for which organization.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from base64 import b64encode

PREFIX = "sntryu_"  # the user-token shape sentry-cli recognises
ORG_PREFIX = "sntrys_"  # Sentry's SENTRY_ORG_AUTH_TOKEN_PREFIX


def generate() -> str:
    return PREFIX + secrets.token_hex(32)


def generate_org(org_slug: str, url_prefix: str) -> str:
    """Sentry's ``generate_token``: the region URL is the server's own (one region here)."""
    payload = {"iat": time.time(), "url": url_prefix, "region_url": url_prefix, "org": org_slug}
    encoded = b64encode(json.dumps(payload).encode()).decode("ascii")
    secret = b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return f"{ORG_PREFIX}{encoded}_{secret}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
