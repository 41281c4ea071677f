"""What every action shares: the run it works in, chunked id lists, task data writes, its events,
dialog fields."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.events import Event, record_event
from core.projects.models import Project
from core.tasks.models import Task

_CHUNK = 5000


@dataclass
class ActionRun:
    """What an action needs while it runs (in the request or in a worker)."""

    session: Session
    project: Project
    user_id: int
    params: dict[str, Any]
    # For actions that call out (retrieve_tasks_predictions asks ML backends, under the URL policy).
    settings: Settings | None = None


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _in_project(run: ActionRun, ids: list[int]):
    return Task.id.in_(ids), Task.project_id == run.project.id


def _record(run: ActionRun, kind: str, ids: Iterable[int]) -> None:
    """One event for the objects a batch changed, in the batch's transaction (so the request and
    the dm_action job both record it); nothing changed, nothing recorded. Ids ascending, in
    whatever order the database returned them."""
    ids = tuple(sorted(ids))
    if ids:
        record_event(run.session, Event(kind, run.project.organization_id, run.project.id, ids, run.user_id))


def _write_task_data(run: ActionRun, values: list[dict]) -> None:
    """New `data` for tasks, one executemany: [{"task_id", "data"}]."""
    if values:
        table = Task.__table__
        run.session.execute(update(table).where(table.c.id == bindparam("task_id")).values(data=bindparam("data")), values)


def _respond_nothing(run: ActionRun, counts: Counter) -> dict:
    # Label Studio runs these as a background job of its own and answers with an empty object.
    return {}


# GET /api/dm/actions/{id}/form/: the fields of an action's dialog (listed as "form": null).
def _select(name: str, label: str, options: list, **extra) -> dict:
    return {"type": "select", "name": name, "label": label, "options": options, **extra}
