"""Label Studio JSON shapes for users.

The spec is Label Studio Enterprise's: besides the community fields it requires `org_membership`,
`organization_membership`, `lse_fields`, `pause` (and `permissions`, `social_accounts` for whoami).
They are filled with what this server knows, so clients of either edition parse the answers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from core.timeutil import isoformat
from core.users.models import User

if TYPE_CHECKING:
    from core.users.queries import UserDetails


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


def initials(user: User) -> str:
    first, last = user.first_name or "", user.last_name or ""
    if not first and not last:
        return user.email[:2]
    return first[:1] + last[:1]


def completed_by_json(user: Any) -> dict:
    """The export's expanded `completed_by` (CompletedBySerializer), of a User or a row with
    its id, email and names."""
    return {"id": user.id, "email": user.email, "first_name": user.first_name or "", "last_name": user.last_name or ""}


def completed_by_dm_json(user: User) -> dict:
    """The Data Manager's expanded `completed_by` (CompletedByDMSerializer) of the task detail."""
    return {
        "id": user.id,
        "first_name": user.first_name or "",
        "last_name": user.last_name or "",
        "avatar": user.avatar,
        "email": user.email,
        "initials": initials(user),
    }


def _membership(member) -> dict:
    return {"organization_id": member.organization_id, "role": member.role, "active": "true"}


def user_api(details: UserDetails) -> dict:
    """LseUserAPI: GET /api/users/ items and /api/current-user."""
    user = details.user
    body = {
        "id": user.id,
        "first_name": user.first_name or "",
        "last_name": user.last_name or "",
        "username": user.username or "",
        "email": user.email,
        "last_activity": isoformat(user.last_activity),
        "custom_hotkeys": user.custom_hotkeys if user.custom_hotkeys is not None else {},
        "avatar": user.avatar or "",
        "initials": initials(user),
        "phone": user.phone or "",
        "active_organization": user.active_organization_id,
        "active_organization_meta": {
            "title": details.active_organization_title,
            "email": details.active_organization_owner_email,
        },
        "allow_newsletters": user.allow_newsletters,
        "date_joined": isoformat(user.date_joined),
        "org_membership": [_membership(m) for m in details.memberships],
        "organization_membership": _membership_or_empty(details),
    }
    if details.deleted_in_org:
        # Label Studio hides who a removed member was.
        body.update(username="Deleted", first_name="Deleted", last_name="User", email="Deleted", initials="DU")
    return body


def _membership_or_empty(details: UserDetails) -> dict:
    member = details.membership_in(details.user.active_organization_id)
    if member is None:
        return {"organization_id": details.user.active_organization_id or 0, "role": "", "active": "false"}
    return _membership(member)


def _lse_fields() -> dict:
    return {
        "email_notification_settings": "",
        "invite_expired": "false",
        "invite_expired_at": "",
        "invite_activated": True,
        "invited_at": None,
        "invited_by": None,
        "onboarding_state": "complete",
    }


def user_full(details: UserDetails) -> dict:
    """LseUser: GET/PATCH /api/users/{id}/ and the 201 of POST /api/users/."""
    return {**user_api(details), "lse_fields": _lse_fields(), "pause": ""}


def whoami(details: UserDetails, permissions: Iterable[str]) -> dict:
    """WhoAmIUser: GET /api/current-user/whoami, with the permissions the caller holds."""
    return {
        **user_api(details),
        "lse_fields": {**_lse_fields(), "active_organization_external_id": None},
        "pause": "",
        "permissions": list(permissions),
        "social_accounts": [],
    }
