"""Expected errors are values in a mutation's result union, mapped from core.errors."""
from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from core import errors as core_errors


class BadRequest(Exception):
    """A client mistake in a query's arguments (bad cursor, page too large); its message is shown."""


def is_unexpected(error: GraphQLError) -> bool:
    """Errors whose message must not reach clients: bugs, driver errors. Validation errors of the
    document, BadRequest and core domain errors (e.g. Conflict) are meant for the client."""
    original = error.original_error
    return original is not None and not isinstance(original, (BadRequest, core_errors.DomainError, GraphQLError))


@strawberry.interface(description="An expected failure of a mutation.")
class Error:
    message: str


@strawberry.type(description="The messages of one invalid input field.")
class FieldError:
    field: str
    messages: list[str]


@strawberry.type(description="Invalid input. `field`/`messages` describe the first invalid field; `errors` has one entry per invalid field.")
class ValidationError(Error):
    field: str
    messages: list[str]
    errors: list[FieldError]


@strawberry.type(description="The object does not exist in your organization.")
class NotFoundError(Error):
    pass


@strawberry.type(description="You may not perform this action.")
class PermissionDeniedError(Error):
    pass


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def flat_messages(errors: Any, path: str = "") -> list[tuple[str, list[str]]]:
    """(field path, messages) pairs of a core error map, nested ones included: some use cases keep
    Django REST framework's nesting ({"filter_group": {"filters": [{"column": [...]}]}})."""
    if isinstance(errors, dict):
        return [pair for key, value in errors.items() for pair in flat_messages(value, f"{path}.{key}" if path else str(key))]
    if isinstance(errors, list) and errors and all(isinstance(item, str) for item in errors):
        return [(path, list(errors))]
    if isinstance(errors, list):
        return [pair for index, value in enumerate(errors) for pair in flat_messages(value, f"{path}.{index}")]
    return [(path, [str(errors)])] if errors else []


def validation_message(exc: core_errors.ValidationError) -> str:
    """One readable line for errors raised where there is no result union (queries)."""
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in flat_messages(exc.errors)) or exc.detail


def error_value(exc: core_errors.DomainError, field_names: dict[str, str]) -> Error:
    """The GraphQL value of an expected core error; anything else is re-raised as unexpected.
    Core field names become the input's camelCase names (`field_names` for those that differ)."""
    if isinstance(exc, core_errors.ValidationError):
        field_errors = [
            FieldError(field=field_names.get(name) or ".".join(camel_case(part) for part in name.split(".")), messages=messages)
            for name, messages in flat_messages(exc.errors)
        ]
        if not field_errors:
            field_errors = [FieldError(field="nonFieldErrors", messages=[exc.detail])]
        first = field_errors[0]
        return ValidationError(message=exc.detail, field=first.field, messages=first.messages, errors=field_errors)
    if isinstance(exc, core_errors.NotFound):
        return NotFoundError(message=exc.detail)
    if isinstance(exc, core_errors.PermissionDenied):
        return PermissionDeniedError(message=exc.detail)
    raise exc
