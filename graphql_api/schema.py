"""The GraphQL schema: each domain package contributes its queries and mutations; limits keep
one query from taking the server down."""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.tools import merge_types

from graphql_api.annotations.mutations import AnnotationMutations
from graphql_api.data_manager.mutations import DataManagerMutations
from graphql_api.data_manager.queries import DataManagerQueries
from graphql_api.exports.mutations import ExportMutations
from graphql_api.imports.mutations import ImportMutations
from graphql_api.jobs.queries import JobQueries, JobSubscriptions
from graphql_api.ml.mutations import MLMutations
from graphql_api.ml.queries import MLQueries
from graphql_api.errors import is_unexpected
from graphql_api.limits import QueryLimits
from graphql_api.node import NodeQueries
from graphql_api.predictions.mutations import PredictionMutations
from graphql_api.projects.mutations import ProjectMutations
from graphql_api.projects.queries import ProjectQueries
from graphql_api.tasks.mutations import TaskMutations
from graphql_api.tasks.queries import TaskQueries
from graphql_api.users.queries import UserQueries
from graphql_api.webhooks.mutations import WebhookMutations
from graphql_api.webhooks.queries import WebhookQueries

Query = merge_types("Query", (UserQueries, NodeQueries, ProjectQueries, TaskQueries, DataManagerQueries, JobQueries, WebhookQueries,
                                 MLQueries))
Mutation = merge_types(
    "Mutation",
    (ProjectMutations, TaskMutations, AnnotationMutations, PredictionMutations, DataManagerMutations, ImportMutations, ExportMutations,
     WebhookMutations, MLMutations),
)


class FreshLoadersPerOperation(SchemaExtension):
    """A websocket runs many operations on one context over its whole life: each operation
    starts with empty DataLoader caches, so a query never answers with rows cached earlier."""

    def on_operation(self):
        context = self.execution_context.context
        if getattr(context, "connection_params", None) is not None:  # set on websockets only
            context.reset_loaders()
        yield


Subscription = merge_types("Subscription", (JobSubscriptions,))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    # Over websockets (graphql-transport-ws) on /graphql; see graphql_api.app.
    subscription=Subscription,
    extensions=[
        FreshLoadersPerOperation,
        # Tokens, depth, aliases and fragment explosion, checked in one linear pass (graphql_api.limits).
        QueryLimits,
        # Unexpected exceptions are logged by Strawberry; clients only see "Unexpected error.".
        MaskErrors(should_mask_error=is_unexpected),
    ],
)
