"""Domain errors. Each API layer maps them to its own wire format."""
from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    default_detail = "Bad request"

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class NotAuthenticated(DomainError):
    status_code = 401
    default_detail = "Authentication credentials were not provided."


class AuthenticationFailed(DomainError):
    status_code = 401
    default_detail = "Incorrect authentication credentials."


class PermissionDenied(DomainError):
    status_code = 403
    default_detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    status_code = 404
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = 409
    default_detail = "Conflict."


class PayloadTooLarge(DomainError):
    status_code = 413
    default_detail = "Request body is too large."


class ValidationError(DomainError):
    """Bad input. `errors` maps a field name (or "non_field_errors") to messages."""

    status_code = 400
    default_detail = "Validation error"

    def __init__(self, errors: dict[str, list[str]] | str, detail: str | None = None):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = {k: list(v) if isinstance(v, (list, tuple)) else [str(v)] for k, v in errors.items()}
        super().__init__(detail)

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationError":
        return cls({name: [message]})
