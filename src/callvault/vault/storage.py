"""Blob storage behind one Protocol: the local filesystem (atomic writes) or S3 via boto3."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlparse

import structlog

from callvault.errors import ConfigurationError, InvalidInput, NotFound, StorageError

log = structlog.get_logger(__name__)

READ_CHUNK = 1024 * 1024
WRITE_BUFFER = 1024 * 1024
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{7,127}$")


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    modified_at: datetime


@runtime_checkable
class BlobStore(Protocol):
    """Opaque, randomly named blobs. Names hold nothing personal."""

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under `name` atomically (all or nothing); returns the byte count."""
        ...

    def get(self, name: str) -> Iterator[bytes]: ...

    def get_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) of the blob."""
        ...

    def delete(self, name: str) -> None:
        """Remove the blob; no error when it is already gone."""
        ...

    def exists(self, name: str) -> bool: ...

    def names(self) -> Iterator[str]: ...

    def stat(self, name: str) -> BlobInfo: ...

    def check(self) -> None:
        """Raise StorageError unless the store can be written and read."""
        ...


def new_blob_name() -> str:
    """A random name: 128 bits, hex, nothing derived from the content or its owner."""
    return secrets.token_hex(16)


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput("not a valid blob name")
    return name


class FileBlobStore:
    """Blobs as files under `root/<2 hex>/<name>`; writes go temp file, fsync, rename, fsync dir."""

    TMP = ".tmp"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / _checked(name)[:2] / name

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self._path(name)
        tmp_dir = self.root / self.TMP
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            tmp = tmp_dir / f"{name}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot write blob ({exc.strerror})") from None
        size = 0
        try:
            # Segments are small; a large buffer turns them into few, large writes.
            with os.fdopen(fd, "wb", buffering=WRITE_BUFFER) as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write blob ({exc.strerror})") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def _open(self, name: str) -> Any:
        try:
            return open(self._path(name), "rb")  # noqa: SIM115 (closed by the generator)
        except FileNotFoundError:
            raise NotFound("blob not found") from None
        except OSError as exc:
            raise StorageError(f"cannot read blob ({exc.strerror})") from None

    def get(self, name: str) -> Iterator[bytes]:
        return self.get_range(name, 0, -1)

    def get_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        handle = self._open(name)

        def chunks() -> Iterator[bytes]:
            with handle:
                handle.seek(start)
                left = None if end < 0 else end - start
                while left is None or left > 0:
                    data = handle.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
                    if not data:
                        return
                    if left is not None:
                        left -= len(data)
                    yield data

        return chunks()

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete blob ({exc.strerror})") from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.name == self.TMP or not shard.is_dir():
                continue
            for entry in sorted(shard.iterdir()):
                if _NAME.match(entry.name) and entry.name.startswith(shard.name):
                    yield entry.name

    def stat(self, name: str) -> BlobInfo:
        try:
            st = self._path(name).stat()
        except FileNotFoundError:
            raise NotFound("blob not found") from None
        return BlobInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def temporary_files(self) -> list[Path]:
        """Half-written files a crash left behind (fsck removes them)."""
        tmp_dir = self.root / self.TMP
        return sorted(tmp_dir.iterdir()) if tmp_dir.is_dir() else []

    def check(self) -> None:
        name = "check" + secrets.token_hex(8)
        self.put(name, [b"ok"])
        try:
            if b"".join(self.get(name)) != b"ok":
                raise StorageError("blob storage does not round-trip")
        finally:
            self.delete(name)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3BlobStore:
    """Blobs as objects under `s3://bucket/prefix/`; botocore errors become StorageError here."""

    PART = 8 * 1024 * 1024

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client

    def _key(self, name: str) -> str:
        return self.prefix + _checked(name)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        key = self._key(name)
        buffer = bytearray()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            with _translated("write"):
                for chunk in chunks:
                    buffer += chunk
                    size += len(chunk)
                    if len(buffer) >= self.PART:
                        if upload_id is None:
                            upload = self.client.create_multipart_upload(
                                Bucket=self.bucket, Key=key
                            )
                            upload_id = upload["UploadId"]
                        parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                        buffer = bytearray()
                if upload_id is None:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                else:
                    if buffer:
                        parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                    self.client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )
        except BaseException:
            if upload_id is not None:
                try:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
                except Exception:  # best effort; the bucket's lifecycle rule cleans up the rest
                    log.warning("s3_abort_failed", blob=name)
            raise
        return size

    def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytearray
    ) -> dict[str, Any]:
        reply = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(data)
        )
        return {"ETag": reply["ETag"], "PartNumber": number}

    def get(self, name: str) -> Iterator[bytes]:
        return self._stream(name, None)

    def get_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        if end >= 0 and end <= start:
            return iter(())
        rng = f"bytes={start}-" if end < 0 else f"bytes={start}-{end - 1}"
        return self._stream(name, rng)

    def _stream(self, name: str, rng: str | None) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(name)}
        if rng:
            kwargs["Range"] = rng
        with _translated("read"):
            body = self.client.get_object(**kwargs)["Body"]

        def chunks() -> Iterator[bytes]:
            with _translated("read"):
                try:
                    yield from body.iter_chunks(READ_CHUNK)
                finally:
                    body.close()

        return chunks()

    def delete(self, name: str) -> None:
        with _translated("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def exists(self, name: str) -> bool:
        try:
            self.stat(name)
        except NotFound:
            return False
        return True

    def stat(self, name: str) -> BlobInfo:
        with _translated("read"):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        return BlobInfo(name, int(head["ContentLength"]), head["LastModified"].astimezone(UTC))

    def names(self) -> Iterator[str]:
        with _translated("list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.prefix) :]
                    if _NAME.match(name):
                        yield name

    def check(self) -> None:
        with _translated("reach the bucket", objects=False):
            self.client.head_bucket(Bucket=self.bucket)


@contextmanager
def _translated(what: str, *, objects: bool = True) -> Iterator[None]:
    """Turn botocore errors into StorageError/NotFound (nothing above the seam sees botocore)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if objects and code in {"NoSuchKey", "404", "NotFound"}:
            raise NotFound("blob not found") from None
        raise StorageError(f"S3 could not {what} ({code or 'error'})") from None
    except BotoCoreError as exc:
        raise StorageError(f"S3 could not {what} ({type(exc).__name__})") from None


def open_blob_store(url: str) -> BlobStore:
    """`file:///path` or `s3://bucket/prefix?endpoint_url=...&region=...`."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        import boto3
        from botocore.config import Config

        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        client = boto3.client(
            "s3",
            endpoint_url=options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3"),
            region_name=options.get("region"),
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        if not parsed.netloc:
            raise ConfigurationError("an s3:// storage URL needs a bucket: s3://bucket/prefix")
        return S3BlobStore(parsed.netloc, parsed.path, client)
    raise ConfigurationError(f"storage URL scheme {parsed.scheme!r} is not supported")
