"""Blobs, their owners, and the files assembled from them: what chunk upload and assemble read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from events import Recorded
from events.uploads import ArtifactBundleCreated, BlobOwned, BlobStored, DebugFileCreated
from projections.base import Projection, View, on

DEBUG_FILE_COLUMNS = (
    "project_id, checksum, name, size, debug_id, code_id, cpu_name, object_kind, file_format, features, "
    "date_created"
)


class Uploads(Projection):
    name = "uploads"
    tables = {
        "blobs": "checksum TEXT PRIMARY KEY, size BIGINT NOT NULL, storage_key TEXT NOT NULL, "
        "date_created TEXT NOT NULL",
        "owners": "organization_id BIGINT NOT NULL, checksum TEXT NOT NULL, "
        "PRIMARY KEY (organization_id, checksum)",
        "debug_files": "project_id BIGINT NOT NULL, checksum TEXT NOT NULL, name TEXT NOT NULL, "
        "size BIGINT NOT NULL, debug_id TEXT NOT NULL, code_id TEXT, cpu_name TEXT NOT NULL, "
        "object_kind TEXT NOT NULL, file_format TEXT NOT NULL, features TEXT NOT NULL, "
        "date_created TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (project_id, checksum)",
        "artifact_bundles": "organization_id BIGINT NOT NULL, checksum TEXT NOT NULL, "
        "bundle_id TEXT NOT NULL, project_ids TEXT NOT NULL, release TEXT, dist TEXT, "
        "file_count INTEGER NOT NULL, size BIGINT NOT NULL, date_created TEXT NOT NULL, "
        "PRIMARY KEY (organization_id, checksum)",
    }
    indexes = ("{debug_files} (project_id, debug_id)",)

    @on(BlobStored)
    def _stored(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, BlobStored)
        view.execute(
            "INSERT INTO {blobs} (checksum, size, storage_key, date_created) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (checksum) DO NOTHING",
            (e.checksum, e.size, e.storage_key, rec.stamp),
        )

    @on(BlobOwned)
    def _owned(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, BlobOwned)
        view.execute(
            "INSERT INTO {owners} (organization_id, checksum) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.organization_id, e.checksum),
        )

    @on(DebugFileCreated)
    def _debug_file(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, DebugFileCreated)
        view.execute(
            f"INSERT INTO {{debug_files}} ({DEBUG_FILE_COLUMNS}, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                e.project_id,
                e.checksum,
                e.name,
                e.size,
                e.debug_id,
                e.code_id,
                e.cpu_name,
                e.object_kind,
                e.file_format,
                json.dumps(list(e.features)),
                rec.stamp,
                rec.position,
            ),
        )

    @on(ArtifactBundleCreated)
    def _bundle(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ArtifactBundleCreated)
        view.execute(
            "INSERT INTO {artifact_bundles} (organization_id, checksum, bundle_id, project_ids, release, "
            "dist, file_count, size, date_created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (
                e.organization_id,
                e.checksum,
                e.bundle_id,
                json.dumps(list(e.project_ids)),
                e.release,
                e.dist,
                e.file_count,
                e.size,
                rec.stamp,
            ),
        )


def owned_chunks(view: View, organization_id: int, checksums: Iterable[str]) -> dict[str, int]:
    """The sizes of the blobs among ``checksums`` that the organization owns."""
    wanted = sorted(set(checksums))
    owned: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        part = wanted[start : start + 500]
        marks = ", ".join(["%s"] * len(part))
        rows = view.execute(
            "SELECT o.checksum, b.size FROM {owners} o JOIN {blobs} b ON b.checksum = o.checksum "
            f"WHERE o.organization_id = %s AND o.checksum IN ({marks})",
            (organization_id, *part),
        )
        owned.update((checksum, size) for checksum, size in rows)
    return owned


def find_missing_chunks(view: View, organization_id: int, checksums: Iterable[str]) -> list[str]:
    """Sentry's ``find_missing_chunks``: those the organization does not own, in request order.
    A blob stored only for another organization counts as missing."""
    checksums = list(dict.fromkeys(checksums))
    owned = owned_chunks(view, organization_id, checksums)
    return [c for c in checksums if c not in owned]


def find_debug_file(view: View, project_id: int, checksum: str) -> dict[str, Any] | None:
    rows = view.execute(
        f"SELECT {DEBUG_FILE_COLUMNS}, position FROM {{debug_files}} WHERE project_id = %s AND checksum = %s",
        (project_id, checksum),
    )
    if not rows:
        return None
    names = [c.strip() for c in DEBUG_FILE_COLUMNS.split(",")] + ["position"]
    row = dict(zip(names, rows[0], strict=True))
    row["features"] = json.loads(row["features"])
    return row


def find_artifact_bundle(view: View, organization_id: int, checksum: str) -> dict[str, Any] | None:
    rows = view.execute(
        "SELECT bundle_id, project_ids, release, dist, file_count, size, date_created "
        "FROM {artifact_bundles} WHERE organization_id = %s AND checksum = %s",
        (organization_id, checksum),
    )
    if not rows:
        return None
    bundle_id, project_ids, release, dist, file_count, size, date_created = rows[0]
    return {
        "bundleId": bundle_id,
        "projectIds": json.loads(project_ids),
        "release": release,
        "dist": dist,
        "fileCount": file_count,
        "size": size,
        "dateCreated": date_created,
    }
