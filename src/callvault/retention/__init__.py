"""Retention: automatic deletion after the purposes' retention period (§7)."""
