"""The one exception hierarchy of callvault; vendor errors are translated into these at the seams.

CallvaultError                      500  base; message is safe to show (no personal data)
├── ConfigurationError              500  bad or missing settings; refuses start-up
├── InvalidInput                    422  the request or file is not acceptable
│   ├── ConsentMissing              422  no consent, or not the digit 1
│   ├── InvalidAudio                415  corrupt, truncated, empty or not audio
│   ├── TooLarge                    413  over the size or duration limit
│   ├── UnsupportedSampleRate       422  a sample rate above 48 kHz
│   ├── RetentionExpired            422  the retention has already run out
│   └── InvalidPhoneNumber          422  cannot be read as a phone number
├── NotFound                        404  unknown, or not yours to see (the same answer)
├── Conflict                        409  same id, different content
├── AuthenticationFailed            401  wrong or missing credentials
│   └── TooManyAttempts             429  rate limited (never says whether the account exists)
├── PermissionDenied                403  authenticated but not allowed
├── StorageError                    503  blob storage failed
├── IntegrityError                  500  data failed authentication (tampering, truncation)
├── KeyringError                    503  key-encryption keys unusable
├── ProcessingError                 500  a background pipeline failed
└── ProviderError                   502  the telephony provider failed or refused
"""

from __future__ import annotations


class CallvaultError(Exception):
    """Base of every callvault error. The message must never hold personal data."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str = "", **context: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.context = context


class ConfigurationError(CallvaultError):
    """The configuration is missing or unsafe."""

    code = "configuration_error"


class InvalidInput(CallvaultError):
    """The input is not acceptable."""

    status_code = 422
    code = "invalid_input"


class ConsentMissing(InvalidInput):
    """The recording has no valid consent (the caller must press 1)."""

    code = "consent_missing"


class InvalidAudio(InvalidInput):
    """The audio is corrupt, truncated, empty or not in a supported format."""

    status_code = 415
    code = "invalid_audio"


class TooLarge(InvalidInput):
    """The upload is over the configured size or duration."""

    status_code = 413
    code = "too_large"


class UnsupportedSampleRate(InvalidInput):
    """The audio's sample rate is above what calls use (48 kHz); nothing of it is stored."""

    code = "unsupported_sample_rate"


class RetentionExpired(InvalidInput):
    """The recording's retention period has already run out."""

    code = "retention_expired"


class InvalidPhoneNumber(InvalidInput):
    """The phone number cannot be understood."""

    code = "invalid_phone_number"


class NotFound(CallvaultError):
    """Not found."""

    status_code = 404
    code = "not_found"


class Conflict(CallvaultError):
    """The request conflicts with what is stored."""

    status_code = 409
    code = "conflict"


class AuthenticationFailed(CallvaultError):
    """Authentication failed."""

    status_code = 401
    code = "authentication_failed"


class TooManyAttempts(AuthenticationFailed):
    """Too many attempts; try again later."""

    status_code = 429
    code = "too_many_attempts"


class PermissionDenied(CallvaultError):
    """You are not allowed to do this."""

    status_code = 403
    code = "permission_denied"


class StorageError(CallvaultError):
    """Blob storage failed."""

    status_code = 503
    code = "storage_error"


class IntegrityError(CallvaultError):
    """Stored data failed authentication."""

    code = "integrity_error"


class KeyringError(CallvaultError):
    """The keyring is unusable."""

    status_code = 503
    code = "keyring_error"


class ProcessingError(CallvaultError):
    """A processing pipeline failed."""

    code = "processing_error"


class ProviderError(CallvaultError):
    """The telephony provider failed or answered unexpectedly."""

    status_code = 502
    code = "provider_error"
