from __future__ import annotations

from core.organizations.batch import organizations_by_ids
from core.users.batch import users_by_ids
from graphql_api.dataloader import by_id_loader
from graphql_api.users.types import OrganizationNode, UserNode

UserByIdLoader = by_id_loader("UserByIdLoader", users_by_ids, UserNode.from_model)
OrganizationByIdLoader = by_id_loader("OrganizationByIdLoader", organizations_by_ids, OrganizationNode.from_model)
