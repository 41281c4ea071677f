"""Fixtures: every database test runs twice, on SQLite and on PostgreSQL (real server)."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dramatiq.worker
import psycopg
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from core.auth.passwords import use_fast_hashing
from core.config import Settings
from core.db.models import Base
from core.db.unit_of_work import transaction
from core.db.migrate import upgrade_head
from core.users.bootstrap import ensure_user

PG_ADMIN_URL = os.environ.get("LABELGRAPH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
BACKENDS = [b for b in os.environ.get("LABELGRAPH_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# Production-cost Argon2 would dominate test setup (every actor hashes a password).
use_fast_hashing()


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> str:
    # One database per pytest process, so parallel runs never share one.
    dbname = f"labelgraph_test_{WORKER}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
        # Commits return without waiting for the disk: a crash of a test database loses nothing.
        conn.execute(f'ALTER DATABASE "{dbname}" SET synchronous_commit = off')
    url = _pg_url(dbname)
    upgrade_head(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _truncate_pg(url: str) -> None:
    """Empties every table and restarts every id sequence, as TRUNCATE ... RESTART IDENTITY would:
    DELETE costs next to nothing on the few rows a test leaves, TRUNCATE replaces every table's files."""
    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in reversed(Base.metadata.sorted_tables))
    with psycopg.connect(url) as conn:
        conn.execute(deletes)
        conn.execute("SELECT setval(seqrelid, seqstart, false) FROM pg_sequence")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db_url, secret_key="test-secret-key-for-jwt-signing-0123456789", max_body_bytes=5 * 1024 * 1024)


@pytest.fixture
def app(settings):
    from labelgraph.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    """An anonymous client."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def db(app):
    """A session on the app's database, for asserting what was written."""
    session = app.state.session_factory()
    yield session
    session.close()


@dataclass
class Actor:
    user_id: int
    organization_id: int
    email: str
    token: str
    client: TestClient


@pytest.fixture
def make_actor(app):
    """make_actor(email, same_org_as=None) -> Actor with its own authenticated client."""
    from core.organizations.models import Organization

    clients: list[TestClient] = []

    def make(email: str, same_org_as: Actor | None = None, password: str = "pass-1234") -> Actor:
        with transaction(app.state.session_factory) as session:
            org = session.get(Organization, same_org_as.organization_id) if same_org_as else None
            user, key = ensure_user(session, email, password, organization=org)
            org_id = user.active_organization_id
            if org is not None and user.active_organization_id != org.id:
                user.active_organization_id = org.id
                org_id = org.id
            user_id = user.id
        c = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Token {key}"})
        c.__enter__()
        clients.append(c)
        return Actor(user_id, org_id, email, key, c)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def actor(make_actor) -> Actor:
    return make_actor("owner@example.com")


@pytest.fixture
def stranger(make_actor) -> Actor:
    """A user of another organization: must never see `actor`'s data."""
    return make_actor("stranger@example.org")


def _background_thread() -> bool:
    """Job workers and the sweeper (outbox dispatch, webhook deliveries) run beside requests; their
    statements are not the request's."""
    thread = threading.current_thread()
    return isinstance(thread, dramatiq.worker._WorkerThread) or thread.name.startswith("labelgraph-")


@contextmanager
def count_statements(engine):
    """Counts SQL statements a request executes on `engine` inside the block (not those of background
    workers): `with count_statements(e) as n: ...; n()`."""
    executed: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not _background_thread():
            executed.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield lambda: len(executed)
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def statement_counter(app):
    return lambda: count_statements(app.state.engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The app served by a real uvicorn on loopback; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
