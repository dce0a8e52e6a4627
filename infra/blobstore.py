"""Content-addressed blob storage: a blob's key is derived from its sha1.

Bytes are staged in a temporary file beside the store (hashing as they are written), then
committed with an atomic rename to their content address: each byte is written once. Two
uploads of one chunk at once both rename identical bytes onto the same name: one file remains
and no temporary file is left behind. ``BlobStorage`` is the interface; an S3-compatible store
can implement it (stage locally, ``PUT`` on commit when the key is absent).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

BLOCK = 1024 * 1024
# Staged bytes are written and hashed by a hashing thread, a batch of at least this many at a
# time, while the staging thread parses the next: the copy into the page cache and sha1 both let
# go of the GIL, so they run on another core than the parsing.
HASH_BATCH = 1024 * 1024
HASH_THREADS = 2  # as many as the body threads that stage (api.asgi.BODY_THREADS)


def storage_key(checksum: str) -> str:
    """Sentry's path layout ``xx/xxxx/rest``, of the checksum rather than a random uuid."""
    return f"{checksum[:2]}/{checksum[2:6]}/{checksum[6:]}"


@dataclass
class Staged:
    """Bytes written to a temporary file, measured and hashed; ``too_large`` when they went
    past the limit (the file then holds only a prefix and must be discarded)."""

    path: Path | None
    checksum: str
    size: int
    too_large: bool


class Stager(Protocol):
    """Bytes being staged as they arrive: ``write`` is False once they went past the limit."""

    def write(self, block: bytes) -> bool: ...

    def finish(self) -> Staged: ...

    def abort(self) -> None: ...


class BlobStorage(Protocol):
    def stager(self, limit: int, keep: bool = True) -> Stager: ...

    def stage(self, blocks: Iterable[bytes], limit: int, keep: bool = True) -> Staged: ...

    def commit(self, staged: Staged) -> str: ...

    def discard(self, staged: Staged) -> None: ...

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO: ...

    def local_path(self, key: str) -> Path: ...


class LocalBlobStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "tmp"
        self.staging.mkdir(parents=True, exist_ok=True)

    def stager(self, limit: int, keep: bool = True) -> LocalStager:
        """Staging of bytes pushed as they arrive (a request's part); unless ``keep`` is False,
        they are written to a temporary file beside the store."""
        return LocalStager(self.staging if keep else None, limit)

    def stage(self, blocks: Iterable[bytes], limit: int, keep: bool = True) -> Staged:
        """Hash and count ``blocks``, writing them unless ``keep`` is False; stop past ``limit``."""
        stager = self.stager(limit, keep)
        try:
            for block in blocks:
                if not stager.write(block):
                    break
        except BaseException:
            stager.abort()
            raise
        return stager.finish()

    def commit(self, staged: Staged) -> str:
        assert staged.path is not None and not staged.too_large
        key = storage_key(staged.checksum)
        target = self.root / key
        if target.exists():  # deduplicated: the bytes are already there
            self.discard(staged)
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)  # atomic; a concurrent twin replaces identical bytes
        staged.path = None
        return key

    def discard(self, staged: Staged) -> None:
        if staged.path is not None:
            with contextlib.suppress(FileNotFoundError):
                staged.path.unlink()
            staged.path = None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def open(self, key: str) -> BinaryIO:
        return open(self.root / key, "rb")

    def local_path(self, key: str) -> Path:
        return self.root / key


_hash_threads: tuple[int, ThreadPoolExecutor] | None = None


def _hashing_pool() -> ThreadPoolExecutor:
    """The process's hashing threads (made anew in a forked child, which has none running)."""
    global _hash_threads
    if _hash_threads is None or _hash_threads[0] != os.getpid():
        _hash_threads = (os.getpid(), ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="eventry-hash"))
    return _hash_threads[1]


def _absorb(digest: hashlib._Hash, out: BinaryIO | None, blocks: list[bytes]) -> None:
    """Write ``blocks`` to ``out`` (None: not kept) and hash them, in order: both release the
    interpreter's lock, so a hashing thread does them beside the thread that reads the body."""
    for block in blocks:
        if out is not None:
            out.write(block)
        digest.update(block)


class LocalStager:
    """Bytes hashed, counted and written to a temporary file in ``directory`` (none: not
    written) as they come; past ``limit`` only counted, and the file is gone. A batch is written
    and hashed by a hashing thread while this one goes on reading the body (on the event loop,
    for a streamed upload: it did the writing itself, a fifth of a 32 MiB upload's time); one
    batch at a time, so the file and the digest see the bytes in order."""

    def __init__(self, directory: Path | None, limit: int) -> None:
        self.limit, self.size = limit, 0
        self.digest = hashlib.sha1(usedforsecurity=False)
        self.path: Path | None = None
        self.out: BinaryIO | None = None
        self._unhashed: list[bytes] = []
        self._unhashed_size = 0
        self._hashing: Future[None] | None = None
        if directory is not None:
            fd, name = tempfile.mkstemp(dir=directory)
            self.path, self.out = Path(name), open(fd, "wb")  # noqa: SIM115 (closed by finish/abort)

    def write(self, block: bytes) -> bool:
        """Hash and write ``block``; False (and nothing kept) once the bytes went past the limit."""
        self.size += len(block)
        if self.size > self.limit:
            self.abort()
            return False
        self._unhashed.append(block)
        self._unhashed_size += len(block)
        if self._unhashed_size >= HASH_BATCH:
            self._hash_batch()
        return True

    def _hash_batch(self) -> None:
        """Hand the bytes not absorbed yet to a hashing thread, once the batch before is done."""
        self._hashed()
        blocks, self._unhashed, self._unhashed_size = self._unhashed, [], 0
        self._hashing = _hashing_pool().submit(_absorb, self.digest, self.out, blocks)

    def _hashed(self) -> None:
        """Wait for the batch being written and hashed, if any (its error is raised here)."""
        if self._hashing is not None:
            hashing, self._hashing = self._hashing, None
            hashing.result()

    def finish(self) -> Staged:
        if self.size > self.limit:
            return Staged(None, "", self.size, too_large=True)
        self._hashed()
        _absorb(self.digest, self.out, self._unhashed)  # the last, short batch: not worth a hand-off
        self._unhashed, self._unhashed_size = [], 0
        if self.out is not None:
            self.out.close()
            self.out = None
        return Staged(self.path, self.digest.hexdigest(), self.size, too_large=False)

    def abort(self) -> None:
        """Drop what was written."""
        self._unhashed, self._unhashed_size = [], 0
        with contextlib.suppress(Exception):  # let the hashing thread finish with file and digest
            self._hashed()
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.path = None


class Readable(Protocol):
    """What bytes are read from: a file, or a part of a request body as it arrives."""

    def read(self, size: int = -1, /) -> bytes: ...


def read_blocks(stream: Readable, size: int = BLOCK) -> Iterable[bytes]:
    while block := stream.read(size):
        yield block
