"""Accounts, roles, passwords, sessions and service tokens (§6, §8)."""
