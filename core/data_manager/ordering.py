"""Data Manager ordering (`["-tasks:completed_at", ...]`) compiled to ORDER BY clauses."""
from __future__ import annotations

from typing import Any


def compile_ordering(ordering: list[str] | None) -> list[Any]:
    """ORDER BY clauses over `tasks`, Label Studio's order (nulls last, ties by id)."""
    raise NotImplementedError
