"""Creating users and their first organization outside any request (CLI, tests, sign-up)."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.models import LegacyToken
from core.auth.passwords import hash_password
from core.organizations.models import Organization, OrganizationMember
from core.users.models import User


def has_users(session: Session) -> bool:
    return session.execute(select(User.id).limit(1)).first() is not None


def new_legacy_token_key() -> str:
    return secrets.token_hex(20)


def create_organization(session: Session, title: str, owner: User) -> Organization:
    org = Organization(title=title, token=secrets.token_urlsafe(24), created_by_id=owner.id)
    session.add(org)
    session.flush()
    add_member(session, org, owner, role="OW")
    return org


def add_member(session: Session, org: Organization, user: User, role: str = "AN") -> OrganizationMember:
    member = session.execute(
        select(OrganizationMember).where(OrganizationMember.organization_id == org.id, OrganizationMember.user_id == user.id)
    ).scalar_one_or_none()
    if member is None:
        member = OrganizationMember(organization_id=org.id, user_id=user.id, role=role)
        session.add(member)
    member.deleted_at = None
    if user.active_organization_id is None:
        user.active_organization_id = org.id
    session.flush()
    return member


def ensure_user(
    session: Session,
    email: str,
    password: str | None = None,
    *,
    token: str | None = None,
    organization: Organization | None = None,
    username: str | None = None,
) -> tuple[User, str]:
    """Create the user if absent (with their own organization unless one is given),
    set password/token when given; returns (user, legacy token key)."""
    email = email.strip().lower()
    user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, username=username or email.split("@")[0])
        session.add(user)
        session.flush()
        if organization is None:
            create_organization(session, "Label Studio", user)
        else:
            add_member(session, organization, user)
    elif organization is not None:
        add_member(session, organization, user)
    if password:
        user.password_hash = hash_password(password)
    legacy = session.get(LegacyToken, token) if token else None
    if legacy is not None and legacy.user_id != user.id:
        raise ValueError("That token already belongs to another user.")
    existing = session.execute(select(LegacyToken).where(LegacyToken.user_id == user.id)).scalar_one_or_none()
    if existing is not None and (token is None or existing.key == token):
        key = existing.key
    else:
        if existing is not None:
            session.delete(existing)
            session.flush()
        key = token or new_legacy_token_key()
        session.add(LegacyToken(key=key, user_id=user.id))
    session.flush()
    return user, key
