"""Data-subject access requests: everything stored about a person (§6, GDPR Art. 15)."""
