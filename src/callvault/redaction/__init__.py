"""Pseudonymisation: direct identifiers removed from audio and transcript (§3)."""
