"""Settings: safe defaults in development, refusal of placeholder secrets elsewhere."""

from pathlib import Path

import pytest

from callvault.config import Settings
from callvault.errors import ConfigurationError


def test_defaults_live_in_the_data_directory(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'callvault.db'}"
    assert s.resolved_storage_url == (tmp_path / "blobs").as_uri()
    assert s.resolved_keyring_url.endswith("/keys/keyring.json")


@pytest.mark.parametrize("secret", [None, "change-me", "short"])
def test_production_refuses_missing_or_placeholder_secret(
    tmp_path: Path, secret: str | None
) -> None:
    s = Settings(env="production", data_dir=tmp_path, secret_key=secret)
    with pytest.raises(ConfigurationError):
        s.check_production_ready()


def test_development_generates_a_private_secret_once(tmp_path: Path) -> None:
    s = Settings(env="development", data_dir=tmp_path)
    first = s.session_secret()
    assert s.session_secret() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_production_twilio_needs_a_real_auth_token(tmp_path: Path) -> None:
    s = Settings(
        env="production",
        data_dir=tmp_path,
        secret_key="x" * 40,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="change-me",  # noqa: S106 (a placeholder is the point)
    )
    with pytest.raises(ConfigurationError):
        s.check_production_ready()
