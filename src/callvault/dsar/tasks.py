"""DSAR jobs: building a bundle off the request thread, and shredding bundles past their time."""

from __future__ import annotations

import uuid

from huey import crontab

from callvault.db import transaction
from callvault.dsar.service import (
    build_bundle,
    delete_shredded_bundle_blobs,
    purge_expired_bundles,
)
from callvault.runtime import get_runtime
from callvault.worker.queue import huey


@huey.task(retries=3, retry_delay=60)  # type: ignore[untyped-decorator]
def build_dsar_bundle(request_id: str, actor: str) -> None:
    """Build (or rebuild: it replaces the earlier one) the request's bundle."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        build_bundle(session, runtime, uuid.UUID(request_id), actor=actor, source="worker")


@huey.task(retries=5, retry_delay=30)  # type: ignore[untyped-decorator]
def delete_dsar_bundle_blobs() -> None:
    """Remove the blobs of bundles already made unreadable (keys shredded)."""
    delete_shredded_bundle_blobs(get_runtime())


@huey.periodic_task(crontab(minute="17"), retries=2, retry_delay=300)  # type: ignore[untyped-decorator]
def purge_dsar_bundles() -> None:
    """Hourly: shred bundles delivered (or built and never delivered) more than 30 days ago,
    of closed requests, or of subjects who withdrew since, and delete shredded blobs."""
    purge_expired_bundles(get_runtime())
