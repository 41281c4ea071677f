"""The bodies webhooks receive, rendered from outbox events in bulk: Label Studio's payloads
(label_studio/webhooks: WebhookAction.ACTIONS and serializers_for_hooks), with the objects in
their REST shapes (core.shapes).

Objects are read with a constant number of statements per batch of events (projects with their
counters and creators, tasks, annotations with their authors), not one per object. An object
deleted between its commit and the dispatch is sent as what is known of it (`{"id": ...}`);
rendering never fails a batch over a missing row."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.events import Event
from core.events.catalog import (
    ANNOTATION_CREATED,
    ANNOTATION_UPDATED,
    ANNOTATIONS_CREATED,
    IMPORT_COMPLETED,
    PROJECT_CREATED,
    PROJECT_DELETED,
    PROJECT_UPDATED,
    TASKS_CREATED,
)
from core.projects.models import Project
from core.projects.queries import config_suitable_for_bulk_annotation, project_counters, users_by_ids
from core.shapes.annotations import annotation_json
from core.shapes.projects import project_json
from core.shapes.tasks import task_json
from core.shapes.webhooks import ACTION_KEYS, only_ids
from core.tasks.models import Task

_PROJECT_ACTIONS = (PROJECT_CREATED, PROJECT_UPDATED)
_ANNOTATION_ACTIONS = (ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_CREATED)


@dataclass(frozen=True)
class Outgoing:
    """An event as webhooks see it: its action (an import's completion is its TASKS_CREATED) and
    the ids of the objects the payload names."""

    event: Event
    action: str
    object_ids: tuple[int, ...]


@dataclass
class _Loaded:
    projects: dict[int, Project] = field(default_factory=dict)
    counters: dict[int, dict] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    annotations: dict[int, Annotation] = field(default_factory=dict)
    users: dict[int, Any] = field(default_factory=dict)


def import_task_ids(session: Session, events: Sequence[Event]) -> dict[int, list[int]]:
    """IMPORT_COMPLETED event id -> the ids of the tasks its import created (one statement)."""
    imports = {event.data["import"]: event for event in events if event.kind == IMPORT_COMPLETED and event.data}
    if not imports:
        return {}
    found: dict[int, list[int]] = {event.id: [] for event in imports.values()}
    project_of = {import_id: event.project_id for import_id, event in imports.items()}
    rows = session.execute(select(Task.import_id, Task.project_id, Task.id).where(Task.import_id.in_(imports)).order_by(Task.id))
    for import_id, project_id, task_id in rows:
        if project_of[import_id] == project_id:
            found[imports[import_id].id].append(task_id)
    return found


def render_bodies(session: Session, outgoing: Sequence[Outgoing]) -> list[dict]:
    """The body of each outgoing event, in order: {"action": ..., <payload>}."""
    loaded = _load(session, outgoing)
    return [{"action": item.action, **_payload(item, loaded)} for item in outgoing]


def _load(session: Session, outgoing: Iterable[Outgoing]) -> _Loaded:
    project_ids: set[int] = set()
    task_ids: set[int] = set()
    annotation_ids: set[int] = set()
    for item in outgoing:
        if item.event.project_id is not None and item.action != PROJECT_DELETED:
            project_ids.add(item.event.project_id)
        if item.action == TASKS_CREATED:
            task_ids.update(item.object_ids)
        elif item.action in _ANNOTATION_ACTIONS:
            annotation_ids.update(item.object_ids)
    loaded = _Loaded()
    if annotation_ids:
        loaded.annotations = {a.id: a for a in session.scalars(select(Annotation).where(Annotation.id.in_(annotation_ids)))}
        task_ids.update(a.task_id for a in loaded.annotations.values())
    if task_ids:
        loaded.tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    if project_ids:
        loaded.projects = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids)))}
        loaded.counters = project_counters(session, loaded.projects)
    user_ids = [p.created_by_id for p in loaded.projects.values()] + [a.completed_by_id for a in loaded.annotations.values()]
    loaded.users = users_by_ids(session, user_ids)
    return loaded


def _payload(item: Outgoing, loaded: _Loaded) -> dict:
    event, action = item.event, item.action
    project = _project(event.project_id, loaded) if event.project_id is not None else None
    if action in _PROJECT_ACTIONS:
        return {"project": project}
    if action == PROJECT_DELETED:
        return {"project": {"id": event.project_id}}
    if action == TASKS_CREATED:
        return {"tasks": [_task(task_id, loaded) for task_id in item.object_ids], "project": project}
    if action in _ANNOTATION_ACTIONS:
        annotations = [loaded.annotations.get(annotation_id) for annotation_id in item.object_ids]
        rendered = [annotation_json(a, loaded.users) if a is not None else {"id": annotation_id}
                    for a, annotation_id in zip(annotations, item.object_ids)]
        task_ids = list(dict.fromkeys(a.task_id for a in annotations if a is not None))
        tasks = [_task(task_id, loaded) for task_id in task_ids]
        if action == ANNOTATIONS_CREATED:
            # Arrays under the singular keys, as Label Studio sends them.
            return {"annotation": rendered, "project": project, "task": tasks}
        return {"annotation": rendered[0] if rendered else None, "project": project, "task": tasks[0] if tasks else None}
    # TASKS_DELETED, ANNOTATIONS_DELETED and any other action: the ids under the action's key.
    key = ACTION_KEYS.get(action, "objects")
    return {key: only_ids(item.object_ids), "project": project} if project is not None else {key: only_ids(item.object_ids)}


def _project(project_id: int, loaded: _Loaded) -> dict:
    project = loaded.projects.get(project_id)
    if project is None:
        return {"id": project_id}
    return project_json(project, loaded.counters.get(project_id, {}), loaded.users.get(project.created_by_id),
                        config_suitable_for_bulk_annotation(project.label_config))


def _task(task_id: int, loaded: _Loaded) -> dict:
    task = loaded.tasks.get(task_id)
    return task_json(task) if task is not None else {"id": task_id}

