"""Label Studio JSON shapes for users."""
from __future__ import annotations

from core.users.models import User


def user_simple(user: User) -> dict:
    """UserSimple: the short form used for `created_by`, `completed_by` and the like.
    The spec types `avatar` as a string, so a user without one gets "" (Label Studio sends null)."""
    return {
        "id": user.id,
        "first_name": user.first_name or "",
        "last_name": user.last_name or "",
        "email": user.email,
        "avatar": user.avatar or "",
        "username": user.username or "",
    }
