"""Stream identities. Like topics, these are persisted: never change how an id is derived."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2a8e-3b7d-5e4f-9a01-e0e0e0e00000")

ORGANIZATION_REGISTRY = uuid5(NAMESPACE, "registry:organizations")
TOKEN_REGISTRY = uuid5(NAMESPACE, "registry:api-tokens")


# Organization and project streams are named on every write and read of them: remembered
# (a SHA-1 each otherwise).
@lru_cache(maxsize=65536)
def organization(organization_id: int) -> UUID:
    return uuid5(NAMESPACE, f"organization:{organization_id}")


@lru_cache(maxsize=65536)
def project(project_id: int) -> UUID:
    return uuid5(NAMESPACE, f"project:{project_id}")


def teams(organization_id: int) -> UUID:
    """An organization's teams: one stream, so team slugs stay unique within it."""
    return uuid5(NAMESPACE, f"teams:{organization_id}")


def api_token(token_hash: str) -> UUID:
    """A token's stream is found from the hash of its secret, so auth is one stream read."""
    return uuid5(NAMESPACE, f"api-token:{token_hash}")


def idempotency(scope: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"idempotency:{scope}:{key}")


def relay(relay_id: str) -> UUID:
    return uuid5(NAMESPACE, f"relay:{relay_id.lower()}")


def project_key_id(key_id: int) -> UUID:
    return uuid5(NAMESPACE, f"project-key-id:{key_id}")


def project_public_key(public_key: str) -> UUID:
    return uuid5(NAMESPACE, f"project-key:{public_key}")
