"""Withdrawal fixtures: the retention part's recording factory and a keyed runtime."""

from __future__ import annotations

from tests.retention.conftest import make_recording, vault_runtime

__all__ = ["make_recording", "vault_runtime"]
