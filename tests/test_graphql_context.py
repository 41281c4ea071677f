"""The request's session is used by one thread at a time, however many DataLoaders are pending."""
from __future__ import annotations

import threading
import time

import anyio

from core.context import Context
from graphql_api.context import GraphQLContext


def test_reads_never_overlap(app):
    session = app.state.session_factory()
    active, overlaps, threads = [0], [], set()
    guard = threading.Lock()

    def work():
        with guard:
            active[0] += 1
            overlaps.append(active[0])
            threads.add(threading.get_ident())
        time.sleep(0.01)
        with guard:
            active[0] -= 1

    async def main():
        context = GraphQLContext(request=None, core=Context(session=session, settings=app.state.settings), user_id=0)
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(context.read, work)

    try:
        anyio.run(main)
    finally:
        session.close()
    assert len(overlaps) == 8 and max(overlaps) == 1
    assert threading.get_ident() not in threads  # the event loop's thread never touches the session
