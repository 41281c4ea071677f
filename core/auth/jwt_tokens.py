"""Signed JWTs: long-lived refresh tokens (personal access tokens) and short-lived access tokens."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import jwt

from core.errors import AuthenticationFailed

ALGORITHM = "HS256"


def encode(secret: str, *, user_id: int, token_type: str, ttl: timedelta, jti: str | None = None) -> tuple[str, str, datetime]:
    """Returns (token, jti, expires_at as naive UTC)."""
    now = datetime.now(timezone.utc)
    expires = now + ttl
    jti = jti or secrets.token_hex(16)
    payload = {
        "token_type": token_type,
        "exp": int(expires.timestamp()),
        "iat": int(now.timestamp()),
        "jti": jti,
        "user_id": user_id,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), jti, expires.replace(tzinfo=None)


def decode(secret: str, token: str, *, expected_type: str) -> dict:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "jti", "token_type"]})
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("Token is expired")
    except jwt.PyJWTError:
        raise AuthenticationFailed("Token is invalid")
    if payload.get("token_type") != expected_type:
        raise AuthenticationFailed("Token has wrong type")
    return payload


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
