"""Vault fixtures: a runtime with a key file, and a real S3-compatible server (moto) locally."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from callvault.runtime import Runtime
from callvault.vault.storage import BlobStore, FileBlobStore, open_blob_store


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in this process, on a free port; dummy credentials only."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy credentials)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A fresh bucket for this test, as a storage URL."""
    import boto3

    bucket = f"cv-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return f"s3://{bucket}/blobs?endpoint_url={s3_endpoint}&region=us-east-1"


@pytest.fixture(params=["file", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    return open_blob_store(request.getfixturevalue("s3_url"))


@pytest.fixture
def vault_runtime(runtime: Runtime) -> Runtime:
    """The test runtime with its key file created (what `callvault init` does)."""
    runtime.keyring.ensure()
    return runtime
