"""Reads of tasks, always scoped to the caller's organization."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import ColumnElement, func, select

from core.annotations.batch import annotations_by_task_ids
from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound
from core.pagination import PageRequest
from core.predictions.batch import predictions_by_task_ids
from core.predictions.models import Prediction
from core.projects.models import Project
from core.projects.queries import get_project
from core.tasks.models import Task
from core.users.batch import users_by_ids
from core.users.models import User


# Ids are 32-bit integers in the database; larger numbers cannot name a row (and would make
# PostgreSQL raise instead of finding nothing).
MAX_ID = 2**31 - 1


def is_valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


@use_case(policy.PROJECTS_VIEW)
def get_org_project(ctx: Context, project_id: int) -> Project:
    """get_project, with ids out of the database's range answered as NotFound."""
    if not is_valid_id(project_id):
        raise NotFound()
    return get_project(ctx, project_id)


@use_case(policy.TASKS_VIEW)
def get_task(ctx: Context, task_id: int) -> Task:
    """The task, if it belongs to a project of the caller's organization; NotFound otherwise."""
    if not is_valid_id(task_id):
        raise NotFound()
    task = ctx.session.execute(
        select(Task).join(Project, Project.id == Task.project_id).where(Task.id == task_id, Project.organization_id == ctx.org_id)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound()
    return task


@dataclass
class TaskRelations:
    """What the Data Manager renders next to tasks, loaded with one query per relation."""

    annotations: dict[int, list[Annotation]] = field(default_factory=dict)
    predictions: dict[int, list[Prediction]] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)


@dataclass
class TaskPage:
    project: Project
    tasks: list[Any]  # rows with Task's columns as attributes (read-only, no ORM identity)
    total: int
    total_annotations: int
    total_predictions: int
    relations: TaskRelations | None = None  # only when all fields were asked for


@use_case(policy.TASKS_VIEW)
def load_task_relations(ctx: Context, tasks: Sequence[Any]) -> TaskRelations:
    ids = [task.id for task in tasks]
    annotations = annotations_by_task_ids(ctx.session, ctx.org_id, ids)
    predictions = predictions_by_task_ids(ctx.session, ctx.org_id, ids)
    author_ids = {a.completed_by_id for items in annotations.values() for a in items if a.completed_by_id is not None}
    users = {ctx.user.id: ctx.user} if ctx.user is not None else {}
    users.update(users_by_ids(ctx.session, ctx.org_id, list(author_ids - users.keys())))
    return TaskRelations(annotations, predictions, users)


DEFERRED_JOIN_OFFSET = 1000


def _totals(conditions: Sequence[ColumnElement[bool]]):
    """Task count and annotation/prediction sums in one statement. Each sum reads only the tasks
    that have any (an index range), which is several times cheaper than summing every row."""

    def total_of(column):
        return select(func.coalesce(func.sum(column), 0)).where(*conditions, column > 0).scalar_subquery()

    count = select(func.count()).select_from(Task).where(*conditions).scalar_subquery()
    return select(count, total_of(Task.total_annotations), total_of(Task.total_predictions))


@use_case(policy.TASKS_VIEW)
def list_tasks(
    ctx: Context,
    project_id: int | Project,
    page: PageRequest,
    *,
    ids: list[int] | None = None,
    all_fields: bool = False,
    conditions: Sequence[ColumnElement[bool]] = (),
    ordering: Sequence[Any] = (),
) -> TaskPage:
    """One page of a project's tasks (ordered by id unless `ordering` is given; extra SQL
    `conditions` filter it, e.g. Data Manager filters), with the totals Label Studio reports.
    Costs a constant number of statements whatever the page size."""
    project = project_id if isinstance(project_id, Project) else get_org_project(ctx, project_id)
    conditions = [Task.project_id == project.id, *conditions]
    if ids is not None:
        conditions.append(Task.id.in_([task_id for task_id in ids if is_valid_id(task_id)]))
    total, total_annotations, total_predictions = ctx.session.execute(_totals(conditions)).one()
    page.check_exists(total)
    # Plain rows: building ORM objects would cost more than the query for a page of 100.
    order = [*ordering, Task.id]
    if page.offset >= DEFERRED_JOIN_OFFSET:
        # Deep pages: skip rows in the narrow (project_id, id) index, then read only the page's rows.
        page_ids = select(Task.id).where(*conditions).order_by(*order).offset(page.offset).limit(page.page_size)
        query = select(*Task.__table__.c).where(Task.id.in_(page_ids.scalar_subquery()))
    else:
        query = select(*Task.__table__.c).where(*conditions).offset(page.offset).limit(page.page_size)
    tasks = list(ctx.session.execute(query.order_by(*order)))
    relations = load_task_relations(ctx, tasks) if all_fields else None
    return TaskPage(project, tasks, int(total), int(total_annotations), int(total_predictions), relations)


@use_case(policy.TASKS_VIEW)
def get_task_with_relations(ctx: Context, task_id: int) -> tuple[Task, Project, TaskRelations]:
    """A task of the caller's organization with its project, annotations, predictions and authors
    (GET /api/tasks/{id}/: a task without predictions gets the ML backend's first)."""
    if not is_valid_id(task_id):
        raise NotFound()
    row = ctx.session.execute(
        select(Task, Project).join(Project, Project.id == Task.project_id).where(Task.id == task_id, Project.organization_id == ctx.org_id)
    ).one_or_none()
    if row is None:
        raise NotFound()
    task, project = row
    relations = load_task_relations(ctx, [task])
    if not relations.predictions.get(task.id):
        # Label Studio's TaskAPI.get asks the project's ML backend for a task without predictions.
        # Imported here: core.ml builds on tasks.
        from core.ml.service import retrieve_missing_prediction

        if retrieve_missing_prediction(ctx, task, project):
            relations = load_task_relations(ctx, [task])
    return task, project, relations
