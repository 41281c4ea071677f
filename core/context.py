"""The context every core service takes: who acts, in which organization, on which session."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import NotAuthenticated

if TYPE_CHECKING:
    from core.users.models import User


@dataclass
class Context:
    session: Session
    settings: Settings
    user: "User | None" = None
    organization_id: int | None = None
    # Ports (job queue, HTTP client, object stores) injected by the composition root.
    ports: dict[str, Any] = field(default_factory=dict)
    # Side effects (enqueue a job, send a webhook) that must wait for the commit.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def require_user(self) -> "User":
        if self.user is None:
            raise NotAuthenticated()
        return self.user

    @property
    def org_id(self) -> int:
        """The caller's active organization; every query is scoped to it."""
        self.require_user()
        if self.organization_id is None:
            raise NotAuthenticated("User has no active organization.")
        return self.organization_id
