"""The tamper-evident audit trail (§6, §8: every access is logged)."""
