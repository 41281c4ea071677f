from __future__ import annotations

from typing import Sequence

from core.annotations.batch import annotations_by_ids, annotations_by_task_ids
from graphql_api.annotations.types import AnnotationNode
from graphql_api.dataloader import ContextLoader, by_id_loader

AnnotationByIdLoader = by_id_loader("AnnotationByIdLoader", annotations_by_ids, AnnotationNode.from_model)


class AnnotationsByTaskIdLoader(ContextLoader):
    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[list[AnnotationNode]]:
        def work():
            grouped = annotations_by_task_ids(self.session, self.org_id, list(task_ids))
            return [[AnnotationNode.from_model(a) for a in grouped[task_id]] for task_id in task_ids]

        return await self.context.read(work)
