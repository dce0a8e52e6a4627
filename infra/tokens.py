"""API tokens: shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "sntryu_"  # the user-token shape sentry-cli recognises


def generate() -> str:
    return PREFIX + secrets.token_hex(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
