from __future__ import annotations

from typing import Sequence

from core.data_manager.batch import views_by_ids, views_by_project_ids
from graphql_api.data_manager.types import ViewNode
from graphql_api.dataloader import ContextLoader, by_id_loader

ViewByIdLoader = by_id_loader("ViewByIdLoader", views_by_ids, ViewNode.from_model)


class ViewsByProjectIdLoader(ContextLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[list[ViewNode]]:
        def work():
            grouped = views_by_project_ids(self.session, self.org_id, list(project_ids))
            return [[ViewNode.from_model(view) for view in grouped[pk]] for pk in project_ids]

        return await self.context.read(work)
