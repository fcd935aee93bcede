"""Backup fixtures: the retention ones (a runtime with keys, a recording factory)."""

from __future__ import annotations

from tests.retention.conftest import make_recording, vault_runtime  # noqa: F401 (shared fixtures)
