"""Page-number pagination as Label Studio's API exposes it."""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound, ValidationError


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @classmethod
    def parse(cls, page: str | None, page_size: str | None, default_page_size: int, max_page_size: int) -> "PageRequest":
        try:
            number = int(page) if page not in (None, "") else 1
        except ValueError:
            raise NotFound("Invalid page.")
        try:
            size = int(page_size) if page_size not in (None, "") else default_page_size
        except ValueError:
            raise ValidationError({"page_size": ["A valid integer is required."]})
        if number < 1:
            raise NotFound("Invalid page.")
        size = max(1, min(size, max_page_size))
        return cls(number, size)

    def check_exists(self, total: int) -> None:
        """Like Django's paginator: a page past the end is a 404 (page 1 always exists)."""
        if self.page > 1 and self.offset >= total:
            raise NotFound("Invalid page.")
