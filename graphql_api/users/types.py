from __future__ import annotations

from datetime import datetime

import strawberry

from core.organizations.models import Organization
from core.users.models import User
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc


@strawberry.type(name="User")
class UserNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    email: str
    username: str
    first_name: str
    last_name: str
    avatar: str | None
    date_joined: datetime
    last_activity: datetime

    @classmethod
    def from_model(cls, user: User) -> "UserNode":
        return cls(
            id=strawberry.ID(to_global_id("User", user.id)),
            pk=user.id,
            email=user.email,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            avatar=user.avatar,
            date_joined=utc(user.date_joined),
            last_activity=utc(user.last_activity),
        )


@strawberry.type(name="Organization")
class OrganizationNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    title: str
    contact_info: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, organization: Organization) -> "OrganizationNode":
        return cls(
            id=strawberry.ID(to_global_id("Organization", organization.id)),
            pk=organization.id,
            title=organization.title,
            contact_info=organization.contact_info,
            created_at=utc(organization.created_at),
        )
