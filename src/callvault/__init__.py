"""callvault: consent-first call recording that implements a call-recording policy."""

__version__ = "0.1.0"
