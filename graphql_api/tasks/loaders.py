from __future__ import annotations

from core.tasks.batch import task_counts_by_project_ids, task_pages_by_project_ids, tasks_by_ids
from graphql_api.dataloader import by_id_loader, counts_by_parent_loader, pages_by_parent_loader
from graphql_api.tasks.types import TaskNode

TaskByIdLoader = by_id_loader("TaskByIdLoader", tasks_by_ids, TaskNode.from_model)
TasksByProjectIdLoader = pages_by_parent_loader("TasksByProjectIdLoader", task_pages_by_project_ids, TaskNode.from_model)
TaskCountByProjectIdLoader = counts_by_parent_loader("TaskCountByProjectIdLoader", task_counts_by_project_ids)
