"""Expected errors are values in a mutation's result union, mapped from core.errors."""
from __future__ import annotations

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


def error_value(exc: core_errors.DomainError, field_names: dict[str, str]) -> Error:
    """The GraphQL value of an expected core error; anything else is re-raised as unexpected.
    Core field names become the input's camelCase names (`field_names` for those that differ)."""
    if isinstance(exc, core_errors.ValidationError):
        field_errors = [
            FieldError(field=field_names.get(name) or camel_case(name), messages=messages) for name, messages in exc.errors.items()
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
