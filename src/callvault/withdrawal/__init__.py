"""Withdrawal of consent: the caller's recordings are removed at once (§4, §7)."""
