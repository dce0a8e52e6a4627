"""Artifact bundles (source maps): a zip (sentry-cli prefixes ``SYSB`` and a version) with a
``manifest.json`` naming its files and the bundle id."""

from __future__ import annotations

import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from events.streams import NAMESPACE


class InvalidBundle(ValueError):
    pass


@dataclass(frozen=True)
class Manifest:
    bundle_id: str
    file_count: int


def read_manifest(f: BinaryIO, checksum: str) -> Manifest:
    """The bundle id is the manifest's ``debug_id``; without one it is derived from the checksum,
    so assembling the same bundle again names it the same."""
    try:
        with zipfile.ZipFile(f) as archive:  # zipfile finds the archive behind the SYSB header
            manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidBundle(f"Invalid artifact bundle: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise InvalidBundle("Invalid artifact bundle: the manifest is not an object of files")
    raw_id = manifest.get("debug_id")
    try:
        bundle_id = str(uuid.UUID(str(raw_id))) if raw_id else str(uuid.uuid5(NAMESPACE, checksum))
    except ValueError:
        raise InvalidBundle(f"Invalid artifact bundle: bad debug_id {raw_id!r}") from None
    return Manifest(bundle_id, len(manifest.get("files", {})))
