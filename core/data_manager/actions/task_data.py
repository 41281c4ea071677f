"""add_data_field: set a task data field to a constant or to values drawn by an expression."""
from __future__ import annotations

import random
from collections import Counter
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.data_manager.actions.common import ActionRun, _chunks, _in_project, _record, _select, _write_task_data
from core.errors import ValidationError
from core.events.catalog import TASKS_UPDATED
from core.projects.models import Project
from core.tasks.models import Task

ADD_DATA_FIELD_EXAMPLES = (
    "range(2) or sample() or random(<min_int>, <max_int>) or "
    'choices(["<value1>", "<value2>", ...], [<weight1>, <weight2>, ...]) or replace("old-string", "new-string")'
)
_EXPRESSION_ARITY = {"range": (1, 1), "sample": (0, 0), "random": (2, 2), "choices": (1, 2), "replace": (2, 2)}


def _expression_args(text: str) -> list[str]:
    """Arguments of `command(a, [b, c], ...)`: commas inside [...] do not split, single quotes
    become double quotes (Label Studio's simple parsing)."""
    args, depth, current = [], 0, []
    for char in text.replace(")", ""):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth <= 0:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    if len(args) == 1 and args[0] == "":
        return []
    return [arg.replace("'", '"') for arg in args]


def _add_data_field_params(body: dict, *_: Any) -> dict:
    name, value_type, value = body.get("value_name"), body.get("value_type"), body.get("value")
    if not isinstance(name, str) or not name:
        raise ValidationError({"value_name": ["This field is required."]})
    if value_type not in ("String", "Number", "Expression"):
        raise ValidationError({"value_type": ["Must be one of String, Number, Expression."]})
    if value_type == "Number":
        try:
            return {"name": name, "type": value_type, "value": float(value)}
        except (TypeError, ValueError):
            raise ValidationError({"value": ["A valid number is required."]})
    if value is None or isinstance(value, (dict, list)):
        raise ValidationError({"value": ["Not a valid string."]})
    value = str(value)
    if value_type == "String":
        return {"name": name, "type": value_type, "value": value}
    command, _, rest = value.partition("(")
    arity = _EXPRESSION_ARITY.get(command)
    if arity is None or "(" in rest:
        raise ValidationError(f"Undefined expression, you can use: {ADD_DATA_FIELD_EXAMPLES}")
    args = _expression_args(rest)
    if not arity[0] <= len(args) <= arity[1]:
        raise ValidationError({"value": [f"{command}() takes {arity[0]}..{arity[1]} arguments: {ADD_DATA_FIELD_EXAMPLES}"]})
    try:
        parsed = [int(arg) for arg in args] if command in ("range", "random") else [orjson.loads(arg) for arg in args]
    except (ValueError, orjson.JSONDecodeError):
        raise ValidationError({"value": [f"Bad arguments for {command}(): {ADD_DATA_FIELD_EXAMPLES}"]})
    if command == "choices" and (not isinstance(parsed[0], list) or not parsed[0]
                                 or (len(parsed) == 2 and (not isinstance(parsed[1], list) or len(parsed[1]) != len(parsed[0])))):
        raise ValidationError({"value": ["choices(values:list, weights:list) needs a non-empty list of values and as many weights."]})
    if command == "random" and parsed[0] > parsed[1]:
        raise ValidationError({"value": ["random(min, max) needs min <= max."]})
    if command == "replace" and not all(isinstance(arg, str) for arg in parsed):
        raise ValidationError({"value": ['replace("old", "new") takes two strings.']})
    return {"name": name, "type": value_type, "command": command, "args": parsed}


def _expression_values(params: dict, size: int) -> list[Any] | None:
    """One new value per task, in selection order (None for replace, which edits values)."""
    command, args = params["command"], params["args"]
    if command == "range":
        return list(range(args[0], args[0] + size))
    if command == "sample":
        return random.sample(range(size), size)
    if command == "random":
        return [random.randint(args[0], args[1]) for _ in range(size)]
    if command == "choices":
        return random.choices(args[0], weights=args[1] if len(args) == 2 else None, k=size)
    return None


def _add_data_field(run: ActionRun, ids: list[int]) -> Counter:
    """Set `data[value_name]` of the selected tasks: a constant, or values drawn by an
    expression over the whole selection (so this action is not split into batches)."""
    params = run.params
    name = params["name"]
    generated = _expression_values(params, len(ids)) if params["type"] == "Expression" else None
    position = {task_id: index for index, task_id in enumerate(ids)}
    updated: list[int] = []
    for chunk in _chunks(ids):
        rows = run.session.execute(select(Task.id, Task.data).where(*_in_project(run, chunk))).all()
        values = []
        for task_id, data in rows:
            data = dict(data) if isinstance(data, dict) else {}
            if params["type"] != "Expression":
                data[name] = params["value"]
            elif generated is not None:
                data[name] = generated[position[task_id]]
            elif isinstance(data.get(name), str):
                data[name] = data[name].replace(*params["args"])
            else:
                continue
            values.append({"task_id": task_id, "data": data})
        _write_task_data(run, values)
        updated += (value["task_id"] for value in values)
    _record(run, TASKS_UPDATED, updated)
    return Counter(tasks=len(ids))


def _respond_updated_tasks(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Updated {counts['tasks']} tasks"}


# ---------------------------------------------------------------- dialog form


def _add_data_field_form(session: Session, project: Project) -> list[dict]:
    return [{"columnCount": 1, "fields": [
        {"type": "input", "name": "value_name", "label": "Name"},
        _select("value_type", "Type", ["String", "Number", "Expression"]),
        {"type": "input", "name": "value", "label": "Value"},
    ]}]
