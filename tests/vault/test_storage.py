"""Blob stores (filesystem and S3 on moto): round trips, ranges, atomic writes, errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from callvault.errors import ConfigurationError, InvalidInput, NotFound, StorageError
from callvault.vault.storage import (
    BlobStore,
    FileBlobStore,
    S3BlobStore,
    new_blob_name,
    open_blob_store,
)

MB = 1024 * 1024


def _chunks(data: bytes, size: int = 100_000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [0, 1, MB + 3, 9 * MB], ids=["empty", "byte", "1MB", "multipart"])
def test_put_then_get_returns_the_same_bytes(blob_store: BlobStore, size: int) -> None:
    data = os.urandom(size)
    name = new_blob_name()
    assert blob_store.put(name, _chunks(data)) == size
    assert b"".join(blob_store.get(name)) == data
    assert blob_store.stat(name).size == size


@pytest.mark.parametrize(
    ("start", "end"), [(0, 10), (5, 6), (100, 1000), (990, 1000), (990, 2000), (0, -1), (500, -1)]
)
def test_get_range_returns_that_slice(blob_store: BlobStore, start: int, end: int) -> None:
    data = os.urandom(1000)
    name = new_blob_name()
    blob_store.put(name, [data])
    expected = data[start:] if end < 0 else data[start:end]
    assert b"".join(blob_store.get_range(name, start, end)) == expected


def test_delete_is_idempotent_and_exists_and_names_follow(blob_store: BlobStore) -> None:
    names = sorted(new_blob_name() for _ in range(3))
    for name in names:
        blob_store.put(name, [b"x"])
    assert sorted(blob_store.names()) == names
    blob_store.delete(names[0])
    blob_store.delete(names[0])
    assert not blob_store.exists(names[0])
    assert blob_store.exists(names[1])
    assert sorted(blob_store.names()) == names[1:]


def test_reading_a_missing_blob_is_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(NotFound):
        b"".join(blob_store.get(new_blob_name()))
    with pytest.raises(NotFound):
        blob_store.stat(new_blob_name())


@pytest.mark.parametrize("name", ["../../etc/passwd", "short", "UPPERCASE0123", "a/b/c/d/e/f/g"])
def test_names_that_could_escape_or_carry_meaning_are_refused(
    blob_store: BlobStore, name: str
) -> None:
    with pytest.raises(InvalidInput):
        blob_store.put(name, [b"x"])


def test_a_write_that_fails_half_way_leaves_nothing(blob_store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield os.urandom(9 * MB)
        raise RuntimeError("the source broke")

    name = new_blob_name()
    with pytest.raises(RuntimeError):
        blob_store.put(name, failing())
    assert not blob_store.exists(name)
    assert list(blob_store.names()) == []
    if isinstance(blob_store, FileBlobStore):
        assert blob_store.temporary_files() == []


def test_check_passes_on_a_usable_store(blob_store: BlobStore) -> None:
    blob_store.check()
    assert list(blob_store.names()) == []


def test_file_blobs_are_private_and_written_via_a_temporary_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    name = new_blob_name()
    store.put(name, [b"secret"])
    path = tmp_path / "blobs" / name[:2] / name
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.temporary_files() == []


def test_file_store_that_cannot_write_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    store = FileBlobStore(tmp_path / "file" / "blobs")
    with pytest.raises(StorageError):
        store.check()


def test_s3_errors_are_translated_at_the_seam(s3_url: str) -> None:
    store = open_blob_store(s3_url)
    assert isinstance(store, S3BlobStore)
    missing = S3BlobStore("no-such-bucket-cv", "x", store.client)
    with pytest.raises(StorageError):
        missing.check()
    with pytest.raises(StorageError):
        missing.put(new_blob_name(), [b"x"])


@pytest.mark.parametrize("url", ["ftp://host/x", "s3:///nobucket"])
def test_unsupported_storage_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_blob_store(url)
