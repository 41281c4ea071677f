"""Expected errors are values in a mutation's result union, mapped from core.errors."""
from __future__ import annotations

import strawberry

from core import errors as core_errors


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
