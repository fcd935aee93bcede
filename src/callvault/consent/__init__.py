"""Consent and its evidence (§4): only the digit 1 is consent."""
