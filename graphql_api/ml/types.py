from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.ml.models import READABLE_STATES, MLBackend
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


@strawberry.type(name="MLBackend", description="A model server connected to a project (Label Studio's ML backend protocol).")
class MLBackendNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    url: str
    title: str | None
    description: str | None
    state: str = strawberry.field(description="CO connected, DI disconnected, ER error, TR training, PR predicting.")
    readable_state: str
    error_message: str | None
    is_interactive: bool
    model_version: str | None
    auto_update: bool
    auth_method: str
    basic_auth_user: str | None
    basic_auth_pass_is_set: bool = strawberry.field(description="Whether a basic auth password is stored (it is never shown).")
    extra_params: JSON | None
    timeout: float
    created_at: datetime
    updated_at: datetime
    project_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, backend: MLBackend) -> "MLBackendNode":
        return cls(
            id=strawberry.ID(to_global_id("MLBackend", backend.id)),
            pk=backend.id,
            url=backend.url,
            title=backend.title,
            description=backend.description,
            state=backend.state,
            readable_state=READABLE_STATES.get(backend.state, backend.state),
            error_message=backend.error_message,
            is_interactive=bool(backend.is_interactive),
            model_version=backend.model_version,
            auto_update=bool(backend.auto_update),
            auth_method=backend.auth_method or "NONE",
            basic_auth_user=backend.basic_auth_user,
            basic_auth_pass_is_set=bool(backend.basic_auth_pass),
            extra_params=backend.extra_params,
            timeout=float(backend.timeout),
            created_at=utc(backend.created_at),
            updated_at=utc(backend.updated_at),
            project_pk=backend.project_id,
        )

    @strawberry.field
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk)
