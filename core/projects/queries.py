"""Reads of projects: org-scoped lookups, the project list and the counters Label Studio shows.

Counters come from grouped queries over the task counter columns (kept up to date by
core.tasks.counters) plus one grouped query over annotations, whatever the number of projects."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.organizations.queries import MAX_ID
from core.label_config import parse_label_config_xml
from core.pagination import PageRequest
from core.projects.models import Project
from core.tasks.models import Task
from core.users.models import User

REQUEUE_FOR_ME = "REQUEUE_FOR_ME"

# Label Studio's ProjectManager.COUNTER_FIELDS, in its order.
TASK_COUNTERS = ("task_number", "finished_task_number", "total_predictions_number", "total_annotations_number")
ANNOTATION_COUNTERS = ("num_tasks_with_annotations", "useful_annotation_number", "ground_truth_number")
COUNTER_FIELDS = (
    "task_number",
    "finished_task_number",
    "total_predictions_number",
    "total_annotations_number",
    "num_tasks_with_annotations",
    "useful_annotation_number",
    "ground_truth_number",
    "skipped_annotations_number",
)
QUEUE_FIELDS = ("queue_total", "queue_done")

PIN_FILTERS = ("all", "pinned_only", "exclude_pinned")

# An annotation with a result: neither SQL NULL nor the JSON null the column type stores for None.
HAS_RESULT = and_(Annotation.result.is_not(None), cast(Annotation.result, Text) != "null")


@use_case(policy.PROJECTS_VIEW)
def get_project(ctx: Context, project_id: int) -> Project:
    """The project with this id in the caller's organization; NotFound for any other."""
    project = ctx.session.scalar(
        select(Project).where(Project.id == project_id, Project.organization_id == ctx.org_id)
    )
    if project is None:
        raise NotFound()
    return project


def project_counters(
    session: Session,
    project_ids: Iterable[int],
    *,
    user_id: int | None = None,
    fields: Iterable[str] | None = None,
) -> dict[int, dict]:
    """project id -> Label Studio's counters (COUNTER_FIELDS), as Label Studio 1.23.2 defines them:

    task_number: tasks; finished_task_number: tasks with is_labeled; total_annotations_number:
    annotations not cancelled; skipped_annotations_number: cancelled ones; total_predictions_number:
    predictions; useful_annotation_number: not cancelled, not ground truth, with a result;
    num_tasks_with_annotations: tasks having such an annotation; ground_truth_number: ground truth.
    With `user_id`, also the user's queue_total (unlabeled tasks they have not annotated plus tasks
    they annotated) and queue_done (tasks they annotated; skips excluded in REQUEUE_FOR_ME projects).
    `fields` limits the work to the counters asked for. At most two statements. The ids must already
    be scoped to the caller's organization (get_project / list_projects)."""
    ids = sorted(set(project_ids))
    wanted = set((*COUNTER_FIELDS, *QUEUE_FIELDS) if fields is None else fields)
    if user_id is None:
        wanted -= set(QUEUE_FIELDS)
    result = {pid: {name: 0 for name in (*COUNTER_FIELDS, *QUEUE_FIELDS) if name in wanted} for pid in ids}
    if not ids or not wanted:
        return result
    task_columns = {
        "task_number": func.count(Task.id),
        "finished_task_number": func.coalesce(func.sum(case((Task.is_labeled.is_(True), 1), else_=0)), 0),
        "total_predictions_number": func.coalesce(func.sum(Task.total_predictions), 0),
        "total_annotations_number": func.coalesce(func.sum(Task.total_annotations), 0),
        "skipped_annotations_number": func.coalesce(func.sum(Task.cancelled_annotations), 0),
    }
    user_tasks = None
    if user_id is not None:
        # The user's annotated tasks, hash-joined once (a correlated EXISTS per task goes badly
        # wrong when the planner misjudges the annotations table).
        done = or_(Project.skip_queue.is_(None), Project.skip_queue != REQUEUE_FOR_ME, Annotation.was_cancelled.is_(False))
        user_tasks = (
            select(Annotation.task_id.label("task_id"), func.max(case((done, 1), else_=0)).label("done"))
            .join(Project, Project.id == Annotation.project_id)
            .where(Annotation.completed_by_id == user_id, Annotation.project_id.in_(ids))
            .group_by(Annotation.task_id)
            .subquery()
        )
        task_columns["queue_total"] = func.coalesce(
            func.sum(case((user_tasks.c.task_id.is_not(None), 1), (Task.is_labeled.is_(False), 1), else_=0)), 0
        )
        task_columns["queue_done"] = func.coalesce(func.sum(func.coalesce(user_tasks.c.done, 0)), 0)
    selected = [(name, column) for name, column in task_columns.items() if name in wanted]
    if selected:
        query = select(Task.project_id, *(column.label(name) for name, column in selected))
        if user_tasks is not None and wanted & set(QUEUE_FIELDS):
            query = query.outerjoin(user_tasks, user_tasks.c.task_id == Task.id)
        rows = session.execute(query.where(Task.project_id.in_(ids)).group_by(Task.project_id))
        for row in rows:
            values = row._mapping
            result[row.project_id].update({name: int(values[name]) for name, _ in selected})
    annotation_wanted = [name for name in ANNOTATION_COUNTERS if name in wanted]
    if annotation_wanted:
        useful = and_(Annotation.was_cancelled.is_(False), Annotation.ground_truth.is_(False), HAS_RESULT)
        annotation_columns = {
            "num_tasks_with_annotations": func.count(func.distinct(case((useful, Annotation.task_id)))),
            "useful_annotation_number": func.coalesce(func.sum(case((useful, 1), else_=0)), 0),
            "ground_truth_number": func.coalesce(func.sum(case((Annotation.ground_truth.is_(True), 1), else_=0)), 0),
        }
        rows = session.execute(
            select(Annotation.project_id, *(annotation_columns[name].label(name) for name in annotation_wanted))
            .where(Annotation.project_id.in_(ids))
            .group_by(Annotation.project_id)
        )
        for row in rows:
            values = row._mapping
            result[row.project_id].update({name: int(values[name]) for name in annotation_wanted})
    return result


@dataclass(frozen=True)
class ProjectFilters:
    """The project list's query parameters, parsed."""

    ids: list[int] | None = None
    title: str | None = None
    search: str | None = None
    pinned: str = "all"
    ordering: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params) -> "ProjectFilters":
        errors: dict[str, list[str]] = {}
        ids = None
        raw_ids = [part for value in params.getlist("ids") for part in value.split(",") if part.strip()]
        if raw_ids:
            try:
                # An id no row can have matches nothing (and never reaches the database).
                ids = [number for part in raw_ids if 0 < (number := int(part)) <= MAX_ID]
            except ValueError:
                errors["ids"] = ["Enter a whole number."]
        pinned = params.get("filter") or "all"
        if pinned not in PIN_FILTERS:
            # Label Studio's GetFieldsSerializer.validate_filter turns anything else into "all".
            pinned = "all"
        if errors:
            raise ValidationError(errors)
        ordering = [term.strip() for term in (params.get("ordering") or "").split(",") if term.strip()]
        return cls(ids=ids, title=params.get("title") or None, search=params.get("search") or None, pinned=pinned, ordering=ordering)


# Fields the list may be ordered by (DRF OrderingFilter over the serializer's model fields and counters).
_ORDERABLE_COLUMNS = {
    name: getattr(Project, name)
    for name in (
        "id", "title", "description", "created_at", "updated_at", "pinned_at", "maximum_annotations", "color",
        "is_published", "is_draft", "model_version", "sampling", "skip_queue", "show_instruction",
        "show_skip_button", "enable_empty_annotation", "min_annotations_to_start_training",
        "overlap_cohort_percentage", "show_overlap_first", "created_by_id",
    )
}
_ORDERABLE_COLUMNS["created_by"] = Project.created_by_id


def _task_sum(column):
    return select(func.coalesce(func.sum(column), 0)).where(Task.project_id == Project.id).scalar_subquery()


_ORDERABLE_COUNTERS = {
    "task_number": lambda: select(func.count(Task.id)).where(Task.project_id == Project.id).scalar_subquery(),
    "finished_task_number": lambda: select(func.count(Task.id))
    .where(Task.project_id == Project.id, Task.is_labeled.is_(True))
    .scalar_subquery(),
    "total_annotations_number": lambda: _task_sum(Task.total_annotations),
    "skipped_annotations_number": lambda: _task_sum(Task.cancelled_annotations),
    "total_predictions_number": lambda: _task_sum(Task.total_predictions),
}


def _order_by(terms: Sequence[str]) -> list:
    clauses = []
    for term in terms:
        name = term.lstrip("-")
        if name in _ORDERABLE_COLUMNS:
            expression = _ORDERABLE_COLUMNS[name]
        elif name in _ORDERABLE_COUNTERS:
            expression = _ORDERABLE_COUNTERS[name]()
        else:
            continue  # DRF drops unknown ordering terms
        clauses.append(expression.desc() if term.startswith("-") else expression.asc())
    if not clauses:
        # Pinned projects first (most recently pinned first), then newest.
        return [Project.pinned_at.is_(None), Project.pinned_at.desc(), Project.created_at.desc(), Project.id.desc()]
    return [*clauses, Project.id.desc()]


@use_case(policy.PROJECTS_VIEW)
def list_projects(ctx: Context, filters: ProjectFilters, page: PageRequest) -> tuple[list[Project], int]:
    """One page of the caller's organization's projects and the total matching: two statements."""
    conditions = [Project.organization_id == ctx.org_id]
    if filters.ids is not None:
        conditions.append(Project.id.in_(filters.ids))
    if filters.title:
        conditions.append(func.lower(Project.title).contains(filters.title.lower(), autoescape=True))
    if filters.search:
        needle = filters.search.lower()
        conditions.append(
            or_(
                func.lower(Project.title).contains(needle, autoescape=True),
                func.lower(Project.description).contains(needle, autoescape=True),
            )
        )
    if filters.pinned == "pinned_only":
        conditions.append(Project.pinned_at.is_not(None))
    elif filters.pinned == "exclude_pinned":
        conditions.append(Project.pinned_at.is_(None))
    total = ctx.session.scalar(select(func.count(Project.id)).where(*conditions)) or 0
    page.check_exists(total)
    projects = list(
        ctx.session.scalars(
            select(Project).where(*conditions).order_by(*_order_by(filters.ordering)).offset(page.offset).limit(page.page_size)
        )
    )
    return projects, total


def users_by_ids(session: Session, user_ids: Iterable[int | None]) -> dict[int, User]:
    ids = {uid for uid in user_ids if uid is not None}
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


@use_case(policy.PROJECTS_VIEW)
def project_annotators(ctx: Context, project_id: int) -> list[User]:
    """Users who completed annotations in the project, by id (Label Studio's /annotators/)."""
    project = get_project(ctx, project_id)
    annotator_ids = select(Annotation.completed_by_id).where(
        Annotation.project_id == project.id, Annotation.completed_by_id.is_not(None)
    )
    return list(ctx.session.scalars(select(User).where(User.id.in_(annotator_ids)).order_by(User.id)))


# Tags whose results are regions, so one answer cannot be applied to many tasks at once.
_REGION_TAGS = frozenset(
    name.lower()
    for name in (
        "Labels", "Brush", "BrushLabels", "Ellipse", "EllipseLabels", "KeyPoint", "KeyPointLabels", "Polygon",
        "PolygonLabels", "Rectangle", "RectangleLabels", "HyperTextLabels", "ParagraphLabels",
        "TimeSeriesLabels", "VideoRectangle",
    )
)
_PER_ITEM_CHECKED_TAGS = frozenset(("choices", "taxonomy", "datetime", "number", "rating", "textarea"))


@lru_cache(maxsize=256)
def config_suitable_for_bulk_annotation(config: str | None) -> bool:
    """Label Studio's config_suitable_for_bulk_annotation: only classification-like controls,
    none per region or per item, no preset Choices/Taxonomy value, no labeling or remote Taxonomy."""
    if not config:
        return True
    try:
        root = parse_label_config_xml(config)
    except ValidationError:
        return False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in _REGION_TAGS:
            return False
        if tag not in _PER_ITEM_CHECKED_TAGS:
            continue
        attributes = element.attrib
        if attributes.get("perRegion", "false").lower() == "true" or attributes.get("perItem", "false").lower() == "true":
            return False
        if tag in ("choices", "taxonomy") and "value" in attributes:
            return False
        if tag == "taxonomy" and (attributes.get("labeling", "false").lower() == "true" or "apiUrl" in attributes):
            return False
    return True
