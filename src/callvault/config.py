"""Settings for callvault, read from CALLVAULT_* environment variables."""

from __future__ import annotations

import secrets
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

import structlog
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from callvault.errors import ConfigurationError

log = structlog.get_logger(__name__)

PLACEHOLDERS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "xxx", "todo"})


class Settings(BaseSettings):
    """Every setting callvault reads. Development fills in local secrets; other modes refuse."""

    model_config = SettingsConfigDict(env_prefix="CALLVAULT_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    storage_url: str | None = None
    queue_url: str | None = None
    keyring_url: str | None = None
    secret_key: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8000"

    # The organisation's identity as `callvault init` records it (callvault.policy.identity);
    # the defaults are the bundled example's, refused outside development.
    organisation_name: str = "Verisure Arlo Europe DAC"
    organisation_short_name: str | None = None
    organisation_website: str = "www.arlo.com"
    dpo_contact: str = "dpo@example.invalid"

    max_upload_bytes: int = 2 * 1024**3
    max_duration_s: float = 4 * 3600.0
    keep_original_format: bool = False

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base: str = "https://api.twilio.com"
    agent_destination: str | None = None
    withdrawal_number: str | None = None

    asr_model: Path | None = None
    asr_device: str = "cpu"
    asr_compute_type: str = "int8"
    asr_threads: int = 2
    redaction_mask: Literal["bleep", "silence"] = "bleep"

    retention_interval_minutes: int = Field(default=15, ge=1)
    retention_batch_size: int = Field(default=500, ge=1)
    audit_signing_key: Path | None = None
    audit_checkpoint_minutes: int = Field(default=10, ge=1)
    erasure_journal_path: Path | None = None
    embedded_worker: bool = True
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Comma-separated CIDRs of reverse proxies whose X-Forwarded-For / Forwarded headers are
    # believed; empty: those headers are ignored and the peer's address is the client's.
    trusted_proxies: str = ""
    metrics_bind: str | None = None  # host:port serving /metrics without a token (internal)

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        return self

    @model_validator(mode="after")
    def _check_trusted_proxies(self) -> Settings:
        self.trusted_proxy_networks  # noqa: B018 - refuses to start on a malformed list
        return self

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """CALLVAULT_TRUSTED_PROXIES as networks (`10.0.0.0/8, 127.0.0.1, ::1`)."""
        networks = []
        for item in self.trusted_proxies.split(","):
            if not item.strip():
                continue
            try:
                networks.append(ip_network(item.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    "CALLVAULT_TRUSTED_PROXIES must be comma-separated addresses or CIDRs"
                ) from None
        return tuple(networks)

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'callvault.db'}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "blobs").as_uri()

    @cached_property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_dir / 'queue.db'}"

    @cached_property
    def resolved_keyring_url(self) -> str:
        return self.keyring_url or (self.data_dir / "keys" / "keyring.json").as_uri()

    @cached_property
    def resolved_audit_signing_key(self) -> Path:
        return self.audit_signing_key or self.data_dir / "keys" / "audit-signing.pem"

    @cached_property
    def resolved_erasure_journal_path(self) -> Path:
        """Beside a local key file by default, so it survives the loss of the database."""
        if self.erasure_journal_path is not None:
            return self.erasure_journal_path.expanduser().resolve()
        from urllib.parse import unquote, urlparse

        keyring = urlparse(self.resolved_keyring_url)
        keys_dir = (
            Path(unquote(keyring.path)).parent
            if keyring.scheme == "file"
            else self.data_dir / "keys"
        )
        return keys_dir / "erasure-journal.jsonl"

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    def session_secret(self) -> bytes:
        """The key that signs sessions and CSRF tokens.

        Outside development a real secret must be configured. In development one is generated
        once into the data directory, and a warning says so.
        """
        configured = self.secret_key.get_secret_value() if self.secret_key else ""
        if configured.strip().lower() not in PLACEHOLDERS and len(configured) >= 32:
            return configured.encode()
        if not self.is_development:
            raise ConfigurationError(
                "CALLVAULT_SECRET_KEY is missing, a placeholder or shorter than 32 characters; "
                "set it to a long random value (python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private_file(path, secrets.token_urlsafe(48).encode())
            log.warning("development_secret_generated", path=str(path))
        return path.read_bytes().strip()

    def check_production_ready(self) -> None:
        """Refuse to start outside development with missing or placeholder secrets."""
        if self.is_development:
            log.warning("development_mode", hint="set CALLVAULT_ENV=production for real use")
            return
        self.session_secret()
        if self.twilio_account_sid and not _is_real(self.twilio_auth_token):
            raise ConfigurationError("CALLVAULT_TWILIO_AUTH_TOKEN is missing or a placeholder")


def _is_real(value: SecretStr | None) -> bool:
    return value is not None and value.get_secret_value().strip().lower() not in PLACEHOLDERS


def write_private_file(path: Path, data: bytes) -> None:
    """Write a file readable only by its owner (mode 0600), atomically."""
    import os

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:  # writes everything, closes the descriptor
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
