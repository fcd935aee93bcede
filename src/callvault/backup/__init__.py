"""Backups and restores that never bring an erased call back (§7 reaching into backups)."""
