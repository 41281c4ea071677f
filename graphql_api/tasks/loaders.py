from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from core.tasks.batch import task_counts_by_project_ids, task_pages_by_project_ids, tasks_by_ids
from graphql_api.dataloader import ContextLoader, by_id_loader
from graphql_api.relay import PageArgs
from graphql_api.tasks.types import TaskNode

TaskByIdLoader = by_id_loader("TaskByIdLoader", tasks_by_ids, TaskNode.from_model)


class TasksByProjectIdLoader(ContextLoader):
    """Key: (project id, PageArgs) -> (tasks of that page, has_next). One statement per distinct
    page request in the batch, usually exactly one: every project of a page asks for the same
    `first`/`after`."""

    async def batch_load_fn(self, keys: Sequence[tuple[int, PageArgs]]) -> list[tuple[list[TaskNode], bool]]:
        projects_by_page: dict[PageArgs, list[int]] = defaultdict(list)
        for project_id, page in keys:
            projects_by_page[page].append(project_id)

        def work():
            pages = {}
            for page, project_ids in projects_by_page.items():
                found = task_pages_by_project_ids(self.session, self.org_id, project_ids, page.first, page.after_id)
                for project_id, (tasks, has_next) in found.items():
                    pages[(project_id, page)] = ([TaskNode.from_model(t) for t in tasks], has_next)
            return [pages[key] for key in keys]

        return await self.context.read(work)


class TaskCountByProjectIdLoader(ContextLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[int]:
        def work():
            counts = task_counts_by_project_ids(self.session, self.org_id, list(project_ids))
            return [counts[pk] for pk in project_ids]

        return await self.context.read(work)
