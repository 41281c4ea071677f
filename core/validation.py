"""Reading plain input (parsed JSON) into typed values, collecting field errors
the way Label Studio reports them: {"field": ["message", ...]}."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from core.errors import ValidationError
from core.timeutil import parse_datetime

_MISSING = object()


class Input:
    """Wraps a request body dict. Each accessor returns the value (or default) and records
    an error instead of raising, so one response names every bad field; call `done()`."""

    def __init__(self, data: Any, *, partial: bool = False):
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % _type_name(data)]})
        self.data = data
        self.partial = partial
        self.errors: dict[str, list[str]] = {}

    def has(self, name: str) -> bool:
        return name in self.data

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def _get(self, name: str, required: bool, default: Any) -> Any:
        if name not in self.data:
            if required and not self.partial:
                self.error(name, "This field is required.")
            return default
        return self.data[name]

    def string(self, name, *, required=False, default=None, allow_null=True, allow_blank=True, max_length=None):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        if isinstance(value, (dict, list, bool)):
            self.error(name, "Not a valid string.")
            return default
        value = str(value)
        if not allow_blank and not value.strip():
            self.error(name, "This field may not be blank.")
        if max_length is not None and len(value) > max_length:
            self.error(name, f"Ensure this field has no more than {max_length} characters.")
        return value

    def integer(self, name, *, required=False, default=None, allow_null=False, min_value=None, max_value=None):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            self.error(name, "A valid integer is required.")
            return default
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
            if number is None:
                raise ValueError
        except (TypeError, ValueError):
            self.error(name, "A valid integer is required.")
            return default
        if min_value is not None and number < min_value:
            self.error(name, f"Ensure this value is greater than or equal to {min_value}.")
        if max_value is not None and number > max_value:
            self.error(name, f"Ensure this value is less than or equal to {max_value}.")
        return number

    def number(self, name, *, required=False, default=None, allow_null=True):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            self.error(name, "A valid number is required.")
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            self.error(name, "A valid number is required.")
            return default

    def boolean(self, name, *, required=False, default=None, allow_null=False):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None and allow_null:
            return None
        parsed = parse_bool(value)
        if parsed is None:
            self.error(name, "Must be a valid boolean.")
            return default
        return parsed

    def dict_(self, name, *, required=False, default=None, allow_null=True):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        if not isinstance(value, dict):
            self.error(name, f'Expected a dictionary of items but got type "{_type_name(value)}".')
            return default
        return value

    def list_(self, name, *, required=False, default=None, allow_null=True):
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        if not isinstance(value, list):
            self.error(name, f'Expected a list of items but got type "{_type_name(value)}".')
            return default
        return value

    def datetime_(self, name, *, required=False, default=None, allow_null=True) -> datetime | None:
        value = self._get(name, required, _MISSING)
        if value is _MISSING:
            return default
        if value is None:
            if not allow_null:
                self.error(name, "This field may not be null.")
            return None
        try:
            return parse_datetime(str(value))
        except ValueError:
            self.error(name, "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
            return default

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "off", "f", "n"):
            return False
    return None


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(type(value), type(value).__name__)


# PostgreSQL stores no NUL character in text or JSON: input holding one is refused on both databases.
NUL_MESSAGE = "Null characters are not allowed."  # Django REST framework's ProhibitNullCharactersValidator


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value has a NUL character in any string or key (iterative: any depth)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
