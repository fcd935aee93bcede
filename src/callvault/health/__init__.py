"""System health: database, storage, keyring, queue and overdue figures (§8, IT team)."""
