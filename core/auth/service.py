"""Who is calling: resolve an Authorization header to a user and their active organization."""
from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core.auth import jwt_tokens
from core.auth.models import LegacyToken
from core.config import Settings
from core.context import Context
from core.errors import AuthenticationFailed, NotAuthenticated
from core.organizations.models import Organization, OrganizationMember
from core.users.models import User


@dataclass(frozen=True)
class Caller:
    user: User
    organization_id: int | None
    role: str | None  # membership role in that organization


def sign_in(ctx: Context, authorization: str | None) -> None:
    """Make the caller behind `authorization` the context's acting user (see `authenticate`)."""
    caller = authenticate(ctx.session, ctx.settings, authorization)
    ctx.user, ctx.organization_id, ctx.role = caller.user, caller.organization_id, caller.role


def authenticate(session: Session, settings: Settings, authorization: str | None) -> Caller:
    """The caller, or NotAuthenticated/AuthenticationFailed. One SQL statement: the user, their
    token, their active organization and their role there come in one row."""
    if not authorization:
        raise NotAuthenticated()
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if not credential:
        raise AuthenticationFailed("Invalid token header. No credentials provided.")
    scheme = scheme.lower()
    if scheme == "token":
        row = session.execute(_by_legacy_token(), {"key": credential}).first()
        # Compare in constant time even after the indexed lookup, so timing reveals nothing.
        if row is None or not hmac.compare_digest(row.key.encode(), credential.encode()):
            raise AuthenticationFailed("Invalid token.")
        user, org = row.User, row.Organization
        if org is not None and not org.legacy_api_tokens_enabled:
            raise AuthenticationFailed("Legacy API tokens are disabled for this organization.")
    elif scheme == "bearer":
        payload = jwt_tokens.decode(settings.secret_key, credential, expected_type="access")
        row = session.execute(_by_user_id(), {"user_id": payload.get("user_id")}).first()
        if row is None:
            raise AuthenticationFailed("User not found")
        user, org = row.User, row.Organization
        if org is not None and not org.api_tokens_enabled:
            raise AuthenticationFailed("Personal access tokens are disabled for this organization.")
    else:
        raise AuthenticationFailed("Invalid authorization scheme.")
    if not user.is_active:
        raise AuthenticationFailed("User inactive or deleted.")
    return Caller(user, org.id if org is not None else None, row.role if org is not None else None)


# Statements built once: building them costs more Python time than running them.
@functools.cache
def _by_legacy_token():
    return (
        _user_and_org()
        .add_columns(LegacyToken.key)
        .join(LegacyToken, LegacyToken.user_id == User.id)
        .where(LegacyToken.key == bindparam("key"))
    )


@functools.cache
def _by_user_id():
    return _user_and_org().where(User.id == bindparam("user_id"))


def _user_and_org():
    """The user with their active organization, provided they are still an (undeleted) member."""
    membership = and_(
        OrganizationMember.organization_id == User.active_organization_id,
        OrganizationMember.user_id == User.id,
        OrganizationMember.deleted_at.is_(None),
    )
    return (
        select(User, Organization, OrganizationMember.role)
        .select_from(User)
        .outerjoin(OrganizationMember, membership)
        .outerjoin(Organization, Organization.id == OrganizationMember.organization_id)
    )
