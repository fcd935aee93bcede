"""Backup fixtures: the retention ones (keys, a recording factory) and a world of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from tests.backup.calls import world  # noqa: F401 (shared fixture)
from tests.retention.conftest import make_recording, vault_runtime  # noqa: F401 (shared fixtures)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI points logging at CliRunner's stderr, which is closed after each invoke."""
    yield
    structlog.reset_defaults()
