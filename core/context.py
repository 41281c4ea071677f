"""The context every core service takes: who acts, in which organization, on which session."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy.orm import Session

from core.config import Settings
from core.db.unit_of_work import after_commit, on_rollback
from core.errors import NotAuthenticated

if TYPE_CHECKING:
    from core.users.models import User


@dataclass
class Context:
    session: Session
    settings: Settings
    user: "User | None" = None
    organization_id: int | None = None
    # The caller's membership role in that organization (core.auth.policy reads it).
    role: str | None = None
    # Ports (job queue, HTTP client, object stores) injected by the composition root.
    ports: dict[str, Any] = field(default_factory=dict)

    def after_commit(self, hook: Callable[[], None]) -> None:
        """A side effect (enqueue a job, remove replaced files) that must wait for the commit."""
        after_commit(self.session, hook)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Undo work outside the database (a file written) if the transaction rolls back."""
        on_rollback(self.session, hook)

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
