"""Recordings: the call recordings themselves, their metadata and ingest (§2, §3, §7)."""
