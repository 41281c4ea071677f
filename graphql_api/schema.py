"""The GraphQL schema, with limits so one query cannot take the server down."""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from graphql_api.errors import is_unexpected
from graphql_api.mutations import Mutation
from graphql_api.queries import Query
from graphql_api.types import AnnotationNode, OrganizationNode, PredictionNode, ProjectNode, TaskNode, UserNode

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    # Reachable only through `node(id:)` for some clients; listed so they are always in the schema.
    types=[ProjectNode, TaskNode, AnnotationNode, PredictionNode, UserNode, OrganizationNode],
    extensions=[
        QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Unexpected exceptions are logged by Strawberry; clients only see "Unexpected error.".
        MaskErrors(should_mask_error=is_unexpected),
    ],
)
