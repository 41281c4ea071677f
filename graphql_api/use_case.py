"""What every mutation shares: run one core use case as a transaction and turn its expected
errors into values of the mutation's result union. Input fields map one to one onto the core
services' dict keys (camelCase in GraphQL, snake_case in core); only the fields a client sent
are passed on, so partial updates stay partial."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Callable, TypeVar, Union

import strawberry
from strawberry.types import Info

from core.context import Context
from core.errors import DomainError, NotFound
from graphql_api.errors import NotFoundError, PermissionDeniedError, ValidationError, error_value
from graphql_api.relay import pk_of

T = TypeVar("T")


def result_union(name: str, payload: type) -> Any:
    """`payload | ValidationError | NotFoundError | PermissionDeniedError`, named `name`."""
    return Annotated[Union[payload, ValidationError, NotFoundError, PermissionDeniedError], strawberry.union(name)]


def as_dict(value: Any) -> dict[str, Any]:
    """The fields of an input object a client sent; times as ISO strings, as REST bodies carry them."""
    sent = {}
    for item in dataclasses.fields(value):
        field_value = getattr(value, item.name)
        if field_value is strawberry.UNSET:
            continue
        sent[item.name] = field_value.isoformat() if isinstance(field_value, datetime) else field_value
    return sent


def pk_or_not_found(global_id: strawberry.ID, type_name: str) -> int:
    """The numeric id in a global id of `type_name`; NotFound for a malformed id or another type."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound()
    return pk


async def run_use_case(
    info: Info, use_case: Callable[[Context], T], to_payload: Callable[[T], Any], field_names: dict[str, str] | None = None
) -> Any:
    """Run `use_case` in its own transaction; its expected errors become union values.
    `field_names` renames core field names where the GraphQL argument differs (task -> taskId)."""
    context = info.context
    try:
        return await context.write(lambda: to_payload(use_case(context.core)))
    except DomainError as exc:
        return error_value(exc, field_names or {})


@strawberry.type(description="The global id of the object that was deleted.")
class DeletePayload:
    deleted_id: strawberry.ID


def deleted(global_id: strawberry.ID) -> Callable[[None], DeletePayload]:
    return lambda _: DeletePayload(deleted_id=global_id)
