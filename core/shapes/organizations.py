"""Label Studio JSON shapes for organizations, memberships, invites and the session policy."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.organizations.models import Organization
from core.timeutil import isoformat

if TYPE_CHECKING:
    from core.organizations.queries import MemberDetails


def organization_id(organization: Organization) -> dict:
    """OrganizationId: items of GET /api/organizations/."""
    return {
        "id": organization.id,
        "title": organization.title,
        "contact_info": organization.contact_info,
        "created_at": isoformat(organization.created_at),
    }


def organization_detail(organization: Organization, user_ids: list[int]) -> dict:
    """Label Studio 1.23.2's OrganizationSerializer (every field; `users` are the members' ids), then
    the spec's LseOrganization keys, whose enterprise-only settings are reported as off."""
    return {
        "id": organization.id,
        "title": organization.title,
        "token": organization.token,
        "created_at": isoformat(organization.created_at),
        "updated_at": isoformat(organization.updated_at),
        "contact_info": organization.contact_info,
        "created_by": organization.created_by_id,
        "users": user_ids,
        "default_role": "AN",
        "external_id": None,
        "embed_domains": None,
        "embed_settings": None,
        "custom_scripts_enabled": "false",
        "email_notification_settings": "",
        "react_code_settings": "",
        "billing": {
            "enforce_session_concurrency": "false",
            "manual_role_management": "false",
            "manual_workspace_management": "false",
            "max_parallel_sessions": "",
            "session_concurrency_window_seconds": "",
        },
    }


def invite(organization: Organization, url: str) -> dict:
    """The invite: the organization's token and the signup link that carries it."""
    return {"token": organization.token, "invite_url": url}


def member(details: MemberDetails) -> dict:
    return {
        "user": details.member.user_id,
        "organization": details.member.organization_id,
        "contributed_projects_count": details.contributed_projects_count,
        "annotations_count": details.annotations_count,
        "created_at": isoformat(details.member.created_at),
        "created_projects": details.created_projects,
        "contributed_to_projects": details.contributed_to_projects,
    }


def session_policy(organization: Organization) -> dict:
    return {
        "max_session_age": organization.max_session_age,
        "max_time_between_activity": organization.max_time_between_activity,
        "created_at": isoformat(organization.created_at),
        "updated_at": isoformat(organization.updated_at),
    }
