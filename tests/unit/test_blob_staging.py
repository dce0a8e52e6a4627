"""Blob staging: bytes hashed (in batches, by a hashing thread) and written as they arrive."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from infra.blobstore import HASH_BATCH, LocalBlobStorage, storage_key


@pytest.mark.parametrize("step", [1, 4096, HASH_BATCH - 1, HASH_BATCH, 256 * 1024 + 7])
def test_staged_bytes_are_hashed_and_written_in_order(tmp_path: Path, step: int) -> None:
    data = os.urandom(3 * HASH_BATCH + 123) if step > 1 else os.urandom(5000)
    storage = LocalBlobStorage(tmp_path)
    stager = storage.stager(len(data))
    for at in range(0, len(data), step):
        assert stager.write(data[at : at + step])
    staged = stager.finish()
    checksum = hashlib.sha1(data).hexdigest()
    assert (staged.checksum, staged.size, staged.too_large) == (checksum, len(data), False)
    key = storage.commit(staged)
    assert key == storage_key(checksum)
    assert (tmp_path / key).read_bytes() == data
    assert list(storage.staging.iterdir()) == []  # committed by a rename, nothing left behind


def test_bytes_past_the_limit_leave_nothing_staged(tmp_path: Path) -> None:
    storage = LocalBlobStorage(tmp_path)
    stager = storage.stager(2 * HASH_BATCH)
    assert stager.write(os.urandom(HASH_BATCH + 1))  # a batch is being hashed
    assert not stager.write(os.urandom(HASH_BATCH))
    assert stager.finish().too_large
    assert list(storage.staging.iterdir()) == []


def test_an_aborted_stager_leaves_nothing_staged(tmp_path: Path) -> None:
    storage = LocalBlobStorage(tmp_path)
    stager = storage.stager(8 * HASH_BATCH)
    for _ in range(3):
        stager.write(os.urandom(HASH_BATCH))
    stager.abort()
    assert list(storage.staging.iterdir()) == []
