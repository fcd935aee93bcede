"""`callvault init`: prepare the data directory, keys, schema and first data, idempotently."""

from __future__ import annotations

from callvault.db import migrate
from callvault.parts import part_modules
from callvault.runtime import Runtime


def initialise(runtime: Runtime) -> list[str]:
    """Run every part's `setup.initialise` in policy order; returns lines to show the operator."""
    data_dir = runtime.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)  # the database and blobs inside are for callvault's eyes only
    migrate(runtime.engine)
    messages: list[str] = []
    for module in part_modules("setup"):
        messages.extend(module.initialise(runtime))
    return messages
