"""`callvault init` for the vault creates the key file once, mode 0600."""

from __future__ import annotations

from callvault.runtime import Runtime
from callvault.vault.keyring import LocalKeyring
from callvault.vault.setup import initialise


def test_init_creates_the_key_file_once_with_mode_0600(runtime: Runtime) -> None:
    first = initialise(runtime)
    assert len(first) == 1 and "key file" in first[0]
    keyring = runtime.keyring
    assert isinstance(keyring, LocalKeyring)
    assert keyring.path.stat().st_mode & 0o777 == 0o600
    assert initialise(runtime) == []
