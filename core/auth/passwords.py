"""Password hashing with Argon2id."""
from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# argon2's default cost (RFC 9106 low-memory profile).
_hasher = PasswordHasher()


def use_fast_hashing() -> None:
    """Hashes with argon2's cheapest parameters from now on, in this process. For test suites only.
    Each hash records its own parameters, so hashes made before or after still verify."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
