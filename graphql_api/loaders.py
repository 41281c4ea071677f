"""DataLoaders, one per request per key (`XByYLoader`). Each batch is one core batch read run in
a worker thread (see graphql_api.context), scoped to the caller's organization; rows are turned
into GraphQL values in that thread."""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Sequence

from aiodataloader import DataLoader

from core.annotations.batch import annotations_by_ids, annotations_by_task_ids
from core.organizations.batch import organizations_by_ids
from core.predictions.batch import predictions_by_ids, predictions_by_task_ids
from core.projects.batch import projects_by_ids
from core.projects.queries import project_counters
from core.tasks.batch import task_counts_by_project_ids, task_pages_by_project_ids, tasks_by_ids
from core.users.batch import users_by_ids
from graphql_api.relay import PageArgs
from graphql_api.types import AnnotationNode, OrganizationNode, PredictionNode, ProjectNode, TaskNode, UserNode

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext


class _ContextLoader(DataLoader):
    def __init__(self, context: "GraphQLContext"):
        super().__init__()
        self.context = context

    @property
    def org_id(self) -> int:
        return self.context.core.org_id

    @property
    def session(self):
        return self.context.core.session


def _by_id_loader(name: str, batch_read: Callable, to_node: Callable) -> type[_ContextLoader]:
    """A loader of single objects by id; ids outside the organization load as None."""

    async def batch_load_fn(self: _ContextLoader, ids: Sequence[int]) -> list[Any]:
        def work():
            rows = batch_read(self.session, self.org_id, list(ids))
            return [to_node(rows[pk]) if pk in rows else None for pk in ids]

        return await self.context.read(work)

    return type(name, (_ContextLoader,), {"batch_load_fn": batch_load_fn})


ProjectByIdLoader = _by_id_loader("ProjectByIdLoader", projects_by_ids, ProjectNode.from_model)
TaskByIdLoader = _by_id_loader("TaskByIdLoader", tasks_by_ids, TaskNode.from_model)
UserByIdLoader = _by_id_loader("UserByIdLoader", users_by_ids, UserNode.from_model)
OrganizationByIdLoader = _by_id_loader("OrganizationByIdLoader", organizations_by_ids, OrganizationNode.from_model)
AnnotationByIdLoader = _by_id_loader("AnnotationByIdLoader", annotations_by_ids, AnnotationNode.from_model)
PredictionByIdLoader = _by_id_loader("PredictionByIdLoader", predictions_by_ids, PredictionNode.from_model)


class AnnotationsByTaskIdLoader(_ContextLoader):
    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[list[AnnotationNode]]:
        def work():
            grouped = annotations_by_task_ids(self.session, self.org_id, list(task_ids))
            return [[AnnotationNode.from_model(a) for a in grouped[task_id]] for task_id in task_ids]

        return await self.context.read(work)


class PredictionsByTaskIdLoader(_ContextLoader):
    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[list[PredictionNode]]:
        def work():
            grouped = predictions_by_task_ids(self.session, self.org_id, list(task_ids))
            return [[PredictionNode.from_model(p) for p in grouped[task_id]] for task_id in task_ids]

        return await self.context.read(work)


class TasksByProjectIdLoader(_ContextLoader):
    """Key: (project id, PageArgs). One statement per distinct page request in the batch,
    usually exactly one: every project of a page asks for the same `first`/`after`."""

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


class TaskCountByProjectIdLoader(_ContextLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[int]:
        def work():
            counts = task_counts_by_project_ids(self.session, self.org_id, list(project_ids))
            return [counts[pk] for pk in project_ids]

        return await self.context.read(work)


class ProjectCountersByIdLoader(_ContextLoader):
    """Label Studio's per-project counters; ids come from projects already loaded in the caller's organization."""

    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[dict]:
        def work():
            counters = project_counters(self.session, list(project_ids))
            return [counters.get(pk, {}) for pk in project_ids]

        return await self.context.read(work)


class Loaders:
    """The request's loaders; attribute names say what they load by what."""

    def __init__(self, context: "GraphQLContext"):
        self.project_by_id = ProjectByIdLoader(context)
        self.task_by_id = TaskByIdLoader(context)
        self.user_by_id = UserByIdLoader(context)
        self.organization_by_id = OrganizationByIdLoader(context)
        self.annotation_by_id = AnnotationByIdLoader(context)
        self.prediction_by_id = PredictionByIdLoader(context)
        self.annotations_by_task_id = AnnotationsByTaskIdLoader(context)
        self.predictions_by_task_id = PredictionsByTaskIdLoader(context)
        self.tasks_by_project_id = TasksByProjectIdLoader(context)
        self.task_count_by_project_id = TaskCountByProjectIdLoader(context)
        self.project_counters_by_id = ProjectCountersByIdLoader(context)
