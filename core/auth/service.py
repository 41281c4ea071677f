"""Who is calling: resolve an Authorization header to a user and their active organization."""
from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import jwt_tokens
from core.auth.models import LegacyToken
from core.config import Settings
from core.errors import AuthenticationFailed, NotAuthenticated
from core.organizations.models import Organization, OrganizationMember
from core.users.models import User


def authenticate(session: Session, settings: Settings, authorization: str | None) -> tuple[User, int | None]:
    """Returns (user, active organization id) or raises NotAuthenticated/AuthenticationFailed."""
    if not authorization:
        raise NotAuthenticated()
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if not credential:
        raise AuthenticationFailed("Invalid token header. No credentials provided.")
    scheme = scheme.lower()
    if scheme == "token":
        user = _user_by_legacy_token(session, credential)
        org = _active_org(session, user)
        if org is not None and not org.legacy_api_tokens_enabled:
            raise AuthenticationFailed("Legacy API tokens are disabled for this organization.")
    elif scheme == "bearer":
        payload = jwt_tokens.decode(settings.secret_key, credential, expected_type="access")
        user = session.get(User, payload.get("user_id"))
        if user is None or not user.is_active:
            raise AuthenticationFailed("User not found")
        org = _active_org(session, user)
        if org is not None and not org.api_tokens_enabled:
            raise AuthenticationFailed("Personal access tokens are disabled for this organization.")
    else:
        raise AuthenticationFailed("Invalid authorization scheme.")
    return user, org.id if org is not None else None


def _user_by_legacy_token(session: Session, key: str) -> User:
    row = session.execute(
        select(LegacyToken, User).join(User, User.id == LegacyToken.user_id).where(LegacyToken.key == key)
    ).first()
    # Compare in constant time even after the indexed lookup, so timing reveals nothing.
    if row is None or not hmac.compare_digest(row[0].key.encode(), key.encode()):
        raise AuthenticationFailed("Invalid token.")
    user = row[1]
    if not user.is_active:
        raise AuthenticationFailed("User inactive or deleted.")
    return user


def _active_org(session: Session, user: User) -> Organization | None:
    """The user's active organization, provided they are still an (undeleted) member."""
    if user.active_organization_id is None:
        return None
    return session.execute(
        select(Organization)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(
            Organization.id == user.active_organization_id,
            OrganizationMember.user_id == user.id,
            OrganizationMember.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
