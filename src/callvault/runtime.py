"""The running system's collaborators, chosen once from settings; shared by API, CLI and worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from callvault.clock import Clock, SystemClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from callvault.vault.keyring import Keyring
    from callvault.vault.storage import BlobStore


@dataclass
class Runtime:
    """Settings plus the seams built from them. Tests build one with fakes or a test database."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        engine = make_engine(settings.resolved_database_url)
        return cls(settings, engine, make_sessionmaker(engine), clock or SystemClock())

    @cached_property
    def blobs(self) -> BlobStore:
        from callvault.vault.storage import open_blob_store

        return open_blob_store(self.settings.resolved_storage_url)

    @cached_property
    def keyring(self) -> Keyring:
        from callvault.vault.keyring import open_keyring

        return open_keyring(
            self.settings.resolved_keyring_url, state_dir=self.settings.data_dir / "keys"
        )


_current: Runtime | None = None

#: Full collections at most once per this many young-generation passes of the middle one.
GC_FULL_EVERY = 1000


def settle_garbage_collector() -> None:
    """For a long-running server, once start-up is done.

    Everything loaded so far lives as long as the process: `gc.freeze()` keeps it out of the
    cyclic collector. But CPython runs a full collection whenever the objects promoted since the
    last one exceed a quarter of the long-lived ones, and after a freeze almost nothing counts as
    long-lived, so full passes over everything kept since start-up came every few seconds and
    stopped every request for 100 ms and more (`benchmarks/webhooks.py --diagnose` times them).
    Raising the third threshold makes them rare; young collections, which are cheap and find
    most cyclic garbage, run as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GC_FULL_EVERY)


def set_runtime(runtime: Runtime | None) -> None:
    """Install the process's runtime (the app, the CLI, the worker and tests each do this once)."""
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    """The process's runtime; background jobs use this because the queue passes only ids."""
    global _current
    if _current is None:
        _current = Runtime.from_settings(Settings())
    return _current
