"""Receiving one chunk-upload request: Sentry's limits, in Sentry's order, then storage.

Every part is measured and hashed as its bytes arrive, written into blob staging (gzip parts
are decompressed as a stream, never past the chunk size, so a gzip bomb costs at most one
chunk's worth of work per part). Nothing is committed until every check passed: bad input
stores nothing.
"""

from __future__ import annotations

import gzip
import re
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO, cast

from commands.uploads import StoredBlob
from infra.blobstore import BLOCK, BlobStorage, Readable, Staged, Stager

CHUNK_SIZE = 8 * 1024 * 1024  # SENTRY_CHUNK_UPLOAD_BLOB_SIZE, a power of two
MAX_CHUNKS_PER_REQUEST = 64
MAX_REQUEST_SIZE = 32 * 1024 * 1024
MAX_CONCURRENCY = 8
HASH_ALGORITHM = "sha1"
MAX_FILE_SIZE = 2**31  # system.maximum-file-size
LARGE_FILE_SIZE = 2**32  # sentry.models.files.utils.MAX_FILE_SIZE, with the feature below
LARGE_FILES_FEATURE = "organizations:large-debug-files"
CHUNK_UPLOAD_ACCEPT = (
    "debug_files", "release_files", "pdbs", "sources", "bcsymbolmaps", "il2cpp",
    "portablepdbs", "artifact_bundles", "artifact_bundles_v2", "proguard",
)  # fmt: skip
# A body past this cannot be a valid request (raw parts over MAX_REQUEST_SIZE, plus room for
# gzip's and multipart's overhead); it is refused before it is read.
MAX_BODY_SIZE = MAX_REQUEST_SIZE + MAX_REQUEST_SIZE // 16 + 1024 * 1024
MAX_FORM_PARTS = 4 * MAX_CHUNKS_PER_REQUEST

SENTRY_CLI_VERSION = re.compile(r"^sentry-cli/(\d+)\.(\d+)\.(\d+)")
API_PREFIX = "/api/0"

CHUNK_TOO_LARGE = "Chunk size too large"
REQUEST_TOO_LARGE = "Request too large"
TOO_MANY_CHUNKS = "Too many chunks"
CHECKSUM_MISMATCH = "Checksum mismatch"


def max_file_size(features: frozenset[str]) -> int:
    """Sentry's ``get_max_file_size``: the largest file that may be assembled."""
    return LARGE_FILE_SIZE if LARGE_FILES_FEATURE in features else MAX_FILE_SIZE


def upload_url(url_prefix: str, path: str, user_agent: str) -> str:
    """Where sentry-cli should send chunks: relative to its own server URL from sentry-cli
    1.70.1 on (so a proxy or a wrong ``EVENTRY_URL_PREFIX`` cannot misdirect it), else
    absolute under the configured URL prefix (Sentry's ``system.url-prefix``)."""
    found = SENTRY_CLI_VERSION.search(user_agent)
    if found and tuple(int(part) for part in found.groups()) >= (1, 70, 1):
        return path.removeprefix(API_PREFIX).lstrip("/")
    return url_prefix.rstrip("/") + path


class ChunkError(Exception):
    """A 400 ``{"error": message}``."""


def _gunzip(stream: Readable) -> Iterator[bytes]:
    """Decompressed blocks; each read is bounded, so the caller's limit bounds the work."""
    try:
        # GzipFile only seeks to rewind, which a forward read never does: a stream will do.
        with gzip.GzipFile(fileobj=cast(IO[bytes], stream), mode="rb") as unzipped:
            while block := unzipped.read(BLOCK):
                yield block
    except (OSError, EOFError, zlib.error) as exc:
        raise ChunkError(str(exc) or "Invalid gzip data") from None


class ChunkReceiver:
    """One request's parts, received as their bytes arrive: ``begin``, ``write``s and ``end``
    per part, in order. A plain part is measured, hashed and staged block by block; a gzip
    part's compressed bytes wait in an anonymous temporary file and are decompressed (never
    past the chunk size) at its end. A ``ChunkError`` is raised as soon as a part shows one;
    ``store`` makes the checks of the whole request and commits; ``discard`` drops whatever
    is staged and not committed (a broken body leaves nothing behind)."""

    def __init__(self, storage: BlobStorage) -> None:
        self.storage = storage
        self.staged: list[tuple[str, Staged]] = []
        self.total = 0
        self._name = ""
        self._plain: Stager | None = None
        self._compressed: IO[bytes] | None = None

    def begin(self, name: str, gzipped: bool) -> None:
        self._name = name
        if gzipped:
            self._compressed = tempfile.TemporaryFile()  # noqa: SIM115 (closed by end/discard)
        else:
            self._plain = self.storage.stager(CHUNK_SIZE, keep=self._keep())

    def write(self, block: bytes) -> None:
        if self._compressed is not None:
            self._compressed.write(block)
        elif self._plain is not None and not self._plain.write(block):
            raise ChunkError(CHUNK_TOO_LARGE)

    def end(self) -> None:
        if self._compressed is not None:
            with self._compressed as compressed:
                self._compressed = None
                compressed.seek(0)
                one = self.storage.stage(_gunzip(compressed), CHUNK_SIZE, keep=self._keep())
        else:
            assert self._plain is not None
            one, self._plain = self._plain.finish(), None
        if one.too_large:
            raise ChunkError(CHUNK_TOO_LARGE)
        self.staged.append((self._name, one))
        self.total += one.size

    def _keep(self) -> bool:
        # Past the request limit the answer is an error: only look for a larger-chunk one.
        return self.total <= MAX_REQUEST_SIZE

    def store(self) -> tuple[StoredBlob, ...]:
        """Check the received parts in Sentry's order and commit them; a ``ChunkError`` stores nothing."""
        if self.total > MAX_REQUEST_SIZE:
            raise ChunkError(REQUEST_TOO_LARGE)
        if len(self.staged) > MAX_CHUNKS_PER_REQUEST:
            raise ChunkError(TOO_MANY_CHUNKS)
        if any(name != one.checksum for name, one in self.staged):
            raise ChunkError(CHECKSUM_MISMATCH)
        stored: dict[str, StoredBlob] = {}
        for name, one in self.staged:
            if name in stored:  # the same chunk twice in one request is stored once
                self.storage.discard(one)
                continue
            stored[name] = StoredBlob(name, one.size, self.storage.commit(one))
        return tuple(stored.values())

    def discard(self) -> None:
        if self._plain is not None:
            self._plain.abort()
            self._plain = None
        if self._compressed is not None:
            self._compressed.close()
            self._compressed = None
        for _, one in self.staged:
            self.storage.discard(one)
