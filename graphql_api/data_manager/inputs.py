"""Typed inputs for the Data Manager filter language, turned into the dicts REST clients send
(`{"conjunction", "items": [{"filter", "operator", "type", "value"}]}`, `["-tasks:id"]`) so
core compiles both wire formats with one engine."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import strawberry

from core.data_manager.columns import BOOLEAN, DATETIME, LIST, NUMBER, STRING, TASK_COLUMNS
from core.data_manager.filters import DATETIME_FORMAT, FILTER_PREFIX, OPERATORS
from core.data_manager.ordering import ORDERING_PREFIX
from core.errors import ValidationError

# "comments" is Label Studio's alias of comment_count; one name per column is enough here.
_ALIASES = {"comments"}

DataManagerColumn = strawberry.enum(
    Enum("DataManagerColumn", {name.upper(): name for name in TASK_COLUMNS if name not in _ALIASES}),
    description="A task column of the Data Manager (Label Studio's `tasks:<name>`).",
)
FilterOperator = strawberry.enum(
    Enum("FilterOperator", {name.upper(): name for name in sorted(OPERATORS)}),
    description="Label Studio's filter operators; IN / NOT_IN take a range, IN_LIST / NOT_IN_LIST a list, EMPTY a boolean; "
    "EXISTS / NOT_EXISTS test a task data key's presence (the value is ignored).",
)


@strawberry.enum(description="How a filter reads its value (Label Studio's filter `type`).")
class FilterType(Enum):
    STRING = STRING
    NUMBER = NUMBER
    BOOLEAN = BOOLEAN
    DATETIME = DATETIME
    LIST = LIST


@strawberry.enum
class FilterConjunction(Enum):
    AND = "and"
    OR = "or"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Bounds of IN / NOT_IN over numbers, both included.")
class NumberRangeInput:
    min: float
    max: float


@strawberry.input(description="Bounds of IN / NOT_IN over times, both included.")
class DatetimeRangeInput:
    min: datetime
    max: datetime


@strawberry.input(one_of=True, description="A filter's value: exactly one of these.")
class FilterValueInput:
    string: str | None = strawberry.UNSET
    number: float | None = strawberry.UNSET
    boolean: bool | None = strawberry.UNSET
    datetime: datetime | None = strawberry.UNSET
    range: NumberRangeInput | None = strawberry.UNSET
    datetime_range: DatetimeRangeInput | None = strawberry.UNSET
    list: list[str] | None = strawberry.UNSET


@strawberry.input(description="One condition: a column (or `dataField` for the task data key `data.<dataField>`), an operator and a value.")
class TaskFilterItemInput:
    operator: FilterOperator
    value: FilterValueInput
    column: DataManagerColumn | None = None
    data_field: str | None = strawberry.field(default=None, description='A task data key; nested keys joined by "__" (e.g. "meta__lang").')
    type: FilterType | None = strawberry.field(default=None, description="Defaults to the kind of value given (range: NUMBER, datetimeRange: DATETIME).")
    child_filter: TaskFilterItemInput | None = strawberry.field(default=None, description="A second condition AND-ed with this one.")


@strawberry.input(description="Label Studio's Data Manager filters: items joined by AND or OR.")
class TaskFilterInput:
    items: list[TaskFilterItemInput]
    conjunction: FilterConjunction = FilterConjunction.AND


@strawberry.input(description="Ordering by a column or a task data key; ties fall back to the task id.")
class TaskOrderInput:
    column: DataManagerColumn | None = None
    data_field: str | None = None
    direction: OrderDirection = OrderDirection.ASC


def _column_name(column: Any, data_field: str | None, field: str) -> str:
    if (column is None) == (data_field is None):
        raise ValidationError({field: ["Give exactly one of column and dataField."]})
    return f"data.{data_field}" if data_field is not None else column.value


def _utc_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime(DATETIME_FORMAT)


def _number(value: float) -> int | float:
    # 5.0 -> 5: the JSON a REST client would send, so data-field equality matches alike.
    return int(value) if math.isfinite(value) and value.is_integer() else value


def _value(value: FilterValueInput) -> tuple[str, Any]:
    """(Label Studio filter type implied by the value, the value as REST sends it)."""
    if value.string is not strawberry.UNSET and value.string is not None:
        return STRING, value.string
    if value.number is not strawberry.UNSET and value.number is not None:
        return NUMBER, _number(value.number)
    if value.boolean is not strawberry.UNSET and value.boolean is not None:
        return BOOLEAN, value.boolean
    if value.datetime is not strawberry.UNSET and value.datetime is not None:
        return DATETIME, _utc_text(value.datetime)
    if value.range is not strawberry.UNSET and value.range is not None:
        return NUMBER, {"min": _number(value.range.min), "max": _number(value.range.max)}
    if value.datetime_range is not strawberry.UNSET and value.datetime_range is not None:
        return DATETIME, {"min": _utc_text(value.datetime_range.min), "max": _utc_text(value.datetime_range.max)}
    return LIST, list(value.list or [])


def filter_item_dict(item: TaskFilterItemInput) -> dict[str, Any]:
    implied_type, value = _value(item.value)
    converted = {
        "filter": FILTER_PREFIX + _column_name(item.column, item.data_field, "filter"),
        "operator": item.operator.value,
        "type": item.type.value if item.type is not None else implied_type,
        "value": value,
    }
    if item.child_filter is not None:
        converted["child_filter"] = filter_item_dict(item.child_filter)
    return converted


def filters_dict(filter: TaskFilterInput | None) -> dict[str, Any] | None:
    """The filter as REST's `query.filters`; None when no filter was given."""
    if filter is None:
        return None
    return {"conjunction": filter.conjunction.value, "items": [filter_item_dict(item) for item in filter.items]}


def ordering_terms(order_by: list[TaskOrderInput] | None) -> list[str]:
    """The ordering as REST's `query.ordering` (e.g. ["-tasks:total_annotations"])."""
    terms = []
    for order in order_by or []:
        name = _column_name(order.column, order.data_field, "ordering")
        terms.append(("-" if order.direction == OrderDirection.DESC else "") + ORDERING_PREFIX + name)
    return terms
