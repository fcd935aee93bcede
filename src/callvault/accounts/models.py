"""Accounts of people and of integrations, their server-side sessions and login throttling."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class ServiceAccount(Base):
    """An integration's API token, stored only as its SHA-256, scoped to one kind of work."""

    __tablename__ = "service_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(20))  # "ingest" or "telephony"
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Account(Base):
    """A person who signs in (§8: access is password protected). Never deleted, only disabled."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-cased
    role: Mapped[str] = mapped_column(sa.String(20), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))  # Argon2id, PHC string
    password_changed_at: Mapped[datetime]
    language: Mapped[str] = mapped_column(sa.String(8), default="sv")
    # TOTP secret, sealed with the vault keyring (context "accounts.totp"); None until enrolled.
    totp_secret_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)  # replay protection
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(64))  # "account:<id>" or "cli"
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Set when someone else chose the password (an IT admin creating the account): the person
    # must choose their own at first sign-in before anything else.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class LoginSession(Base):
    """A server-side session. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "login_sessions"
    __table_args__ = (sa.Index("ix_login_sessions_account_id_ended_at", "account_id", "ended_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit
    # Set once a second factor was checked; dpo/it_admin sessions without it may only enrol.
    second_factor_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(sa.String(32))
    source_hash: Mapped[str | None] = mapped_column(sa.String(64))


class LoginThrottle(Base):
    """Consecutive failures and the temporary lock for one login key (an email or an address).

    Keys are keyed hashes, and exist for unknown emails too, so a lock says nothing about whether
    an account exists.
    """

    __tablename__ = "login_throttles"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class LoginFailure(Base):
    """One counted login attempt, for the hourly per-account and per-address limits.

    An attempt is counted before the password is checked (so parallel processes cannot exceed the
    limits) and the row is removed again when the attempt succeeds.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_key_hash_at", "key_hash", "at"),
        sa.Index("ix_login_failures_address_hash_at", "address_hash", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    address_hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]


class PasswordReset(Base):
    """A one-time link an IT admin hands to a person who forgot their password.

    Only the token's SHA-256 is stored; the person chooses the new password, so IT never
    learns it. Valid 24 hours, used once; a newer link for the same account voids older ones.
    """

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """One of the ten one-time codes issued at TOTP enrolment, usable once instead of a TOTP
    code (a lost phone). Stored only as a SHA-256 over the account id and the code."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
