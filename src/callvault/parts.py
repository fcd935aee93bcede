"""The parts of callvault, one per clause of the policy; app, CLI and schema are built from them."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from types import ModuleType

# Order matters for the CLI help and the schema: foundations first.
PARTS: tuple[str, ...] = (
    "vault",
    "audit",
    "accounts",
    "policy",
    "consent",
    "recordings",
    "access",
    "telephony",
    "retention",
    "withdrawal",
    "dsar",
    "backup",
    "redaction",
    "quality",
    "training",
    "health",
    "worker",
    "web",
    "metrics",
)


def part_modules(module: str) -> Iterator[ModuleType]:
    """Import `callvault.<part>.<module>` for every part that has one."""
    for part in PARTS:
        name = f"callvault.{part}.{module}"
        if importlib.util.find_spec(f"callvault.{part}") is None:
            continue
        if importlib.util.find_spec(name) is None:
            continue
        yield importlib.import_module(name)
