"""remove_duplicates: keep one task of each group with equal data, moving annotations onto it."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update

from core.annotations.models import Annotation
from core.data_manager.actions.common import ActionRun, _chunks, _in_project, _record
from core.data_manager.actions.deletion import _delete_tasks
from core.events.catalog import TASKS_UPDATED
from core.label_config import data_types as config_data_types
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task

DATA_UNDEFINED_NAME = "$undefined$"


def _duplicate_key(data: Any, first_data_key: str | None) -> bytes:
    # Label Studio compares task data after giving "$undefined$" the config's data key.
    if isinstance(data, dict) and first_data_key and DATA_UNDEFINED_NAME in data:
        data = {**data}
        data[first_data_key] = data.pop(DATA_UNDEFINED_NAME)
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _remove_duplicates(run: ActionRun, ids: list[int]) -> Counter:
    """Tasks of the selection with equal data form a group; of each group Label Studio keeps
    the first task (in the selection's order) that has annotations, moves the annotations of
    the others onto it, and deletes the rest; a group without annotations keeps its first task."""
    first_data_key = next(iter(config_data_types(run.project.label_config)), None)
    position = {task_id: index for index, task_id in enumerate(ids)}
    groups: dict[bytes, list[tuple[int, bool]]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = run.session.execute(
            select(Task.id, Task.data, Task.total_annotations + Task.cancelled_annotations).where(*_in_project(run, chunk))
        ).all()
        for task_id, data, annotation_count in sorted(rows, key=lambda row: position[row[0]]):
            groups[_duplicate_key(data, first_data_key)].append((task_id, annotation_count > 0))
    moves: list[dict[str, int]] = []
    removing: list[int] = []
    keepers: list[int] = []
    for tasks in groups.values():
        if len(tasks) < 2:
            continue
        annotated = [task_id for task_id, has_annotations in tasks if has_annotations]
        keeper = annotated[0] if annotated else tasks[0][0]
        keepers.append(keeper)
        moves.extend({"from_task": task_id, "to_task": keeper} for task_id in annotated[1:])
        removing.extend(task_id for task_id, _ in tasks if task_id != keeper)
    moved = 0
    if moves:
        moved = run.session.execute(
            update(Annotation.__table__).where(Annotation.__table__.c.task_id == bindparam("from_task")).values(task_id=bindparam("to_task")),
            moves,
        ).rowcount
        # The tasks that received annotations changed; the removed ones are recorded as deleted.
        _record(run, TASKS_UPDATED, sorted({move["to_task"] for move in moves}))
    counts = _delete_tasks(run, removing)
    refresh_task_counters(run.session, keepers)
    return Counter(removed=counts["tasks"], moved_annotations=max(moved, 0))
