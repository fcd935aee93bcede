"""`callvault init` for the vault: the key file (mode 0600) and a usable blob store."""

from __future__ import annotations

from callvault.runtime import Runtime
from callvault.vault.keyring import LocalKeyring


def initialise(runtime: Runtime) -> list[str]:
    lines: list[str] = []
    keyring = runtime.keyring
    if keyring.ensure():
        where = f" at {keyring.path}" if isinstance(keyring, LocalKeyring) else ""
        lines.append(
            f"created the key file{where} (mode 0600); back it up: without it no "
            "recording can be decrypted"
        )
    keyring.check()
    runtime.blobs.check()
    return lines
