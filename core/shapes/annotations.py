"""Annotation -> Label Studio JSON: the REST API's AnnotationSerializer and the export's
(data_export AnnotationSerializer) of LS 1.23.2."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from core.annotations.models import Annotation
from core.timeutil import isoformat, utcnow
from core.users.models import User

# LS only exposes the FSM state with feature flags on; the spec requires the key, and an
# annotation's only state in the community edition is CREATED.
ANNOTATION_STATE = "CREATED"

_NBSP = "\xa0"
_UNITS = (
    (365 * 24 * 3600, "year"),
    (30 * 24 * 3600, "month"),
    (7 * 24 * 3600, "week"),
    (24 * 3600, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def created_ago(created_at: datetime | None, now: datetime | None = None) -> str:
    """Django's `timesince` as LS renders it: the two largest units, e.g. '1\xa0hour, 5\xa0minutes'."""
    if created_at is None:
        return ""
    seconds = int(((now or utcnow()) - created_at).total_seconds())
    if seconds < 60:
        return f"0{_NBSP}minutes"
    parts: list[str] = []
    for index, (size, name) in enumerate(_UNITS):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{_NBSP}{name}{'' if count == 1 else 's'}")
            # Like Django, the second unit must be the adjacent one.
            if index + 1 < len(_UNITS):
                next_size, next_name = _UNITS[index + 1]
                following = seconds // next_size
                if following:
                    parts.append(f"{following}{_NBSP}{next_name}{'' if following == 1 else 's'}")
            break
    return ", ".join(parts)


def created_username(user: User | None) -> str:
    """'First Last email, id' (LS puts a leading space when the first name is empty)."""
    if user is None:
        return ""
    name = user.first_name or ""
    if user.last_name:
        name = f"{name} {user.last_name}"
    return f"{name} {user.email}, {user.id}"


def raw_time(value: datetime | None) -> datetime | None:
    """Times left as datetimes, for the export's encoder (orjson, naive UTC with a Z), which writes
    them as isoformat would at a fraction of the cost."""
    return value


def _outcome_fields(annotation: Any, render_time: Callable[[datetime | None], Any]) -> dict:
    return {
        "was_cancelled": bool(annotation.was_cancelled),
        "ground_truth": bool(annotation.ground_truth),
        "created_at": render_time(annotation.created_at),
        "updated_at": render_time(annotation.updated_at),
        "draft_created_at": render_time(annotation.draft_created_at),
        "lead_time": annotation.lead_time,
    }


def _link_fields(annotation: Any) -> dict:
    return {
        "import_id": annotation.import_id,
        "last_action": annotation.last_action,
        "bulk_created": annotation.bulk_created,
        "task": annotation.task_id,
        "project": annotation.project_id,
        "updated_by": annotation.updated_by_id,
        "parent_prediction": annotation.parent_prediction_id,
        "parent_annotation": annotation.parent_annotation_id,
        "last_created_by": annotation.last_created_by_id,
    }


def annotation_json(annotation: Annotation, users_by_id: Mapping[int, User]) -> dict:
    """AnnotationSerializer (the REST API). `users_by_id` (completed_by_id -> User, e.g. from
    core.annotations.queries.authors_of) names the author in `created_username`."""
    return {
        "id": annotation.id,
        "state": ANNOTATION_STATE,
        "result": annotation.result,
        "created_username": created_username(users_by_id.get(annotation.completed_by_id)),
        "created_ago": created_ago(annotation.created_at),
        "completed_by": annotation.completed_by_id,
        **_outcome_fields(annotation, isoformat),
        **_link_fields(annotation),
    }


def result_count(result: Any) -> int:
    """Label Studio's Annotation.result_count: the number of distinct region ids in the result,
    results without an id counting as one more region."""
    if not isinstance(result, list):
        return 0
    try:
        return len({item.get("id") for item in result})
    except (AttributeError, TypeError):  # an item that is not an object, or an id that is one
        return len({repr(item.get("id")) if isinstance(item, dict) else repr(None) for item in result})


def exported_annotation_json(annotation: Any, *, completed_by: int | dict | None, result: Any, result_count: int) -> dict:
    """The export's AnnotationSerializer: the model's fields in their order, `completed_by` as an id
    or an expanded user (core.shapes.users.completed_by_json), no author name or age.

    `annotation` is an Annotation or a row with its columns; the caller passes the result (the export
    embeds raw JSON text) and its result_count (see result_count). Times stay datetimes (see raw_time)."""
    return {
        "id": annotation.id,
        "completed_by": completed_by,
        "result": result,
        **_outcome_fields(annotation, raw_time),
        "prediction": {},
        "result_count": result_count,
        "unique_id": annotation.unique_id,
        **_link_fields(annotation),
    }
