from __future__ import annotations

from typing import Sequence

from core.predictions.batch import predictions_by_ids, predictions_by_task_ids
from graphql_api.dataloader import ContextLoader, by_id_loader
from graphql_api.predictions.types import PredictionNode

PredictionByIdLoader = by_id_loader("PredictionByIdLoader", predictions_by_ids, PredictionNode.from_model)


class PredictionsByTaskIdLoader(ContextLoader):
    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[list[PredictionNode]]:
        def work():
            grouped = predictions_by_task_ids(self.session, self.org_id, list(task_ids))
            return [[PredictionNode.from_model(a) for a in grouped[task_id]] for task_id in task_ids]

        return await self.context.read(work)
