"""Sentry's slug rules: Django's slugify, reserved slugs and the conflict suffix schedule."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

PROJECT_SLUG_MAX_LENGTH = 50
MIXED_SLUG_PATTERN = re.compile(r"^(?![0-9]+$)[a-z0-9_\-]+$")
ORG_SLUG_PATTERN = re.compile(r"^(?![0-9]+$)[a-zA-Z0-9][a-zA-Z0-9-]*(?<!-)$")

RESERVED_PROJECT_SLUGS = frozenset(
    {
        "$all", "api-keys", "audit-log", "auth", "members", "projects", "rate-limits", "repos",
        "settings", "teams", "billing", "payments", "legal", "subscription", "support",
        "integrations", "developer-settings", "usage",
    }
)  # fmt: skip

RESERVED_ORGANIZATION_SLUGS = frozenset(
    {
        "404", "500", "_admin", "_static", "about", "accept", "account", "admin", "api", "at",
        "auth", "avatar", "blog", "branding", "careers", "community", "contact", "customers",
        "debug", "docs", "enterprise", "features", "for", "from", "get-cli", "guide", "help",
        "integrations", "jobs", "legal", "login", "logout", "manage", "onboarding",
        "organizations", "out", "platforms", "plugins", "pricing", "privacy", "projects",
        "register", "remote", "security", "sentry-apps", "settings", "signup", "subscribe",
        "support", "teams", "terms", "thanks", "vs", "welcome",
    }
)  # fmt: skip

# Sentry's slugify_instance tries 2 suffixes of 2 characters, 5 of 3, 20 of 5, then 1 of 12.
SUFFIX_SCHEDULE: tuple[int, ...] = (2,) * 2 + (3,) * 5 + (5,) * 20 + (12,)
SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456790"


def slugify(value: str) -> str:
    """Django's ``slugify`` without unicode: ASCII, lower case, word characters and hyphens."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def unique_slug(
    label: str,
    taken: Callable[[str], bool],
    suffixes: Iterable[str],
    fallback: str,
    reserved: frozenset[str] = RESERVED_PROJECT_SLUGS,
    max_length: int = PROJECT_SLUG_MAX_LENGTH,
) -> str | None:
    """``slugify_instance``: the label's slug if free, else the first free suffixed candidate.

    ``suffixes`` are random strings drawn by the caller (sized per ``SUFFIX_SCHEDULE``) and
    ``fallback`` a random 12-hex slug for labels that slugify to nothing or to a reserved word.
    """
    value = slugify(label)[:max_length].strip("-").strip()
    if value in reserved:
        value = ""
    if not value:
        value = fallback
    if not taken(value) and not value.isdigit():
        return value
    for suffix in suffixes:
        candidate = f"{value[: max_length - len(suffix) - 1]}-{suffix}"
        if not taken(candidate):
            return candidate
    return None
