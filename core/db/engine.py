"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

import threading
import time
import weakref

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Plain postgresql:// URLs use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


CHECKPOINT_INTERVAL_SECONDS = 1.0


def _start_wal_checkpointer(engine: Engine) -> None:
    """A daemon thread that folds SQLite's write-ahead log into the database every second.
    PASSIVE never blocks readers or writers. The thread holds only a weak reference, so it ends
    when the engine is garbage-collected."""
    engine_ref = weakref.ref(engine)

    def run() -> None:
        while True:
            time.sleep(CHECKPOINT_INTERVAL_SECONDS)
            current = engine_ref()
            if current is None:
                return
            try:
                # A raw DBAPI connection: invisible to statement listeners (tests count statements).
                connection = current.raw_connection()
                try:
                    connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    connection.close()
            except Exception:  # a busy or vanished database: try again next round
                pass
            del current

    threading.Thread(target=run, name="sqlite-wal-checkpoint", daemon=True).start()


def _json_dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_db_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    # orjson for JSON columns: task data is most of what lists and exports read.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # A 64 MiB page cache and memory-mapped reads: bulk imports touch many index pages.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA temp_store=MEMORY")
            # Checkpoints run on a background thread (below), not inside whichever commit
            # happens to cross the WAL threshold: that commit would pay for everyone's writes.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        if ":memory:" not in url:
            _start_wal_checkpointer(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine, info: dict | None = None) -> sessionmaker[Session]:
    """Sessions on `engine`; `info` seeds every session's `Session.info` (e.g. the outbox notifier)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)
