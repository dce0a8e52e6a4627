"""Random values the deciders need, drawn here so the deciders stay pure: slug suffix
candidates, project key material, Relay config revisions, key labels."""

from __future__ import annotations

import secrets
import uuid

from commands.project_keys import NewKey
from commands.slugs import SUFFIX_ALPHABET, SUFFIX_SCHEDULE

# petname.generate(2, " ", letters=10).title() in Sentry; any two short words will do.
_ADJECTIVES = (
    "able", "bold", "brave", "calm", "clever", "eager", "fair", "fancy", "gentle", "happy",
    "jolly", "kind", "lively", "lucky", "merry", "noble", "polite", "proud", "quick", "quiet",
    "rapid", "sharp", "smart", "steady", "sunny", "swift", "tidy", "vivid", "warm", "witty",
)  # fmt: skip
_ANIMALS = (
    "badger", "beetle", "bison", "camel", "cobra", "crane", "dingo", "eagle", "ferret", "gecko",
    "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marten", "moose", "newt", "otter",
    "panda", "puffin", "quail", "raven", "salmon", "tapir", "toucan", "viper", "walrus", "zebra",
)  # fmt: skip


def slug_candidates() -> tuple[tuple[str, ...], str]:
    """Suffixes for ``slugify_instance``'s conflict schedule, and the 12-hex fallback slug."""
    suffixes = tuple("".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(n)) for n in SUFFIX_SCHEDULE)
    return suffixes, uuid.uuid4().hex[:12]


def hex_id() -> str:
    """``uuid4().hex``: public and secret keys, relay revisions, slugs of deleted projects."""
    return uuid.uuid4().hex


def new_key(key_id: int, public_key: str | None = None, secret_key: str | None = None) -> NewKey:
    return NewKey(key_id, public_key or hex_id(), secret_key or hex_id())


def key_label() -> str:
    return f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_ANIMALS)}".title()
