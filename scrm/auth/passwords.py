"""Password hashing with argon2id (argon2-cffi, RFC 9106 parameters)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    """The password is too short or too long; the message says the limits."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_strength(password: str) -> None:
    """Refuse passwords shorter than MIN_LENGTH or longer than MAX_LENGTH characters."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"A password has from {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of a password that passes check_strength."""
    check_strength(password)
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Does `password` match the stored hash? Never raises for a wrong password or a damaged hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Was the hash made with weaker parameters than today's (so it should be replaced at the next login)?"""
    return _hasher().check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both cases take as long."""
    return _dummy()


@cache
def _dummy() -> str:
    return _hasher().hash("not a password of anyone")
