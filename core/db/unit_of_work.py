"""The one unit of work: run a use case as one transaction, then its side effects.

Commit, then run the after-commit hooks (enqueue a job, wake the event outbox, remove files the
change made obsolete); or roll back, then run the on-rollback hooks (remove files the failed
change wrote). Hooks are registered on the session by whoever causes the side effect
(`after_commit(session, hook)`, `on_rollback(session, hook)`), so nothing has to carry a list of
them through function signatures. REST views, GraphQL mutations and job handlers all end their
transactions here: `transaction(factory)` opens and closes a session, `run_in_transaction(session,
work)` uses an open one (GraphQL requests commit once per mutation on one session).

A hook that fails is logged and does not undo or fail the transaction: the change is committed
(or rolled back) by then, and the hooks are written to be safe to miss (the job and outbox
sweepers redo what a lost enqueue missed)."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("labelgraph.db")

T = TypeVar("T")
Hook = Callable[[], None]

_AFTER_COMMIT = "labelgraph.after_commit"
_ON_ROLLBACK = "labelgraph.on_rollback"


def after_commit(session: Session, hook: Hook, *, key: object = None) -> None:
    """Run `hook` once the session's current transaction has committed (never if it rolls back).
    With a `key`, a second hook under the same key in the same transaction is dropped."""
    hooks = session.info.setdefault(_AFTER_COMMIT, {})
    hooks.setdefault(object() if key is None else key, hook)


def on_rollback(session: Session, hook: Hook) -> None:
    """Run `hook` if the session's current transaction rolls back (never if it commits)."""
    session.info.setdefault(_ON_ROLLBACK, {})[object()] = hook


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A new session for the block: committed when the block ends, rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        _roll_back(session)
        session.close()
        raise
    session.close()
    _committed(session)


def run_in_transaction(session: Session, work: Callable[[], T]) -> T:
    """Run `work` on an open session as one transaction; the session stays open for the next."""
    try:
        result = work()
        session.commit()
    except BaseException:
        _roll_back(session)
        raise
    _committed(session)
    return result


def _committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_AFTER_COMMIT, {}), "after-commit")


def _roll_back(session: Session) -> None:
    session.rollback()
    session.info.pop(_AFTER_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, {}), "on-rollback")


def _run(hooks: dict[object, Hook], what: str) -> None:
    for hook in hooks.values():
        try:
            hook()
        except Exception:
            log.exception("An %s hook failed", what)
