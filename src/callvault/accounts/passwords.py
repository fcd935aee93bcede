"""Passwords (§8): Argon2id hashes, at least 12 characters, never a common password."""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from importlib import resources

import argon2
from argon2.low_level import Type

from callvault.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 accepts more, but nobody needs it and it bounds the work per attempt

# OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
HASHER = argon2.PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)

_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
    }
)
_EDGE = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords and patterns, lower-cased."""
    text = resources.files("callvault.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _forms(password: str) -> set[str]:
    """The password and the simple variants people use to dress up a common one."""
    lowered = unicodedata.normalize("NFKC", password).lower()
    forms = {lowered, lowered.translate(_LEET), _EDGE.sub("", lowered)}
    forms.add(_EDGE.sub("", lowered.translate(_LEET)))
    forms.add(re.sub(r"[\s\W_]+", "", lowered))
    return {f for f in forms if f}


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why this password is refused, or None when it is acceptable. Never includes the password."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    if len(set(password)) < 4:
        return "the password repeats too few different characters"
    listed = common_passwords()
    if any(form in listed for form in _forms(password)):
        return "the password is on the list of common passwords; choose another"
    if _is_sequence(password.lower()):
        return "the password is a keyboard or number sequence"
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in password.lower():
            return "the password must not contain the email address"
    return None


def check_password(password: str, *, email: str | None = None) -> None:
    """Raise InvalidInput when the password breaks the rules."""
    problem = password_problem(password, email=email)
    if problem:
        raise InvalidInput(problem)


_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyzåäö",
    "0123456789012345678901234567890",
    "qwertyuiopåasdfghjklöäzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)


def _is_sequence(text: str) -> bool:
    stripped = re.sub(r"[\W_]+", "", text)
    if len(stripped) < 8:
        return False
    for seq in _SEQUENCES:
        for candidate in (seq, seq[::-1]):
            if stripped in candidate * 3:
                return True
    return False


def hash_password(password: str) -> str:
    """An Argon2id PHC string for the password (checked against the rules first)."""
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when the password matches; False for a wrong password or an unreadable hash."""
    try:
        return HASHER.verify(stored_hash, password[:MAX_LENGTH])
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except argon2.exceptions.InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash of a random password, verified for unknown or locked accounts to even out timing."""
    return HASHER.hash(secrets.token_urlsafe(24))


def verify_dummy(password: str) -> None:
    """Spend the same time as a real verification, and always fail."""
    verify_password(dummy_hash(), password)
