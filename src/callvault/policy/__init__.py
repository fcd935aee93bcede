"""The published policy, its versions and the registry of purposes (§2, §5)."""
