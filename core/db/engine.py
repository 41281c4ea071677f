"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

import functools
import threading
import time
import weakref

import orjson
import re2
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


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad user pattern is answered as a 400, not logged to stderr


@functools.lru_cache(maxsize=32)  # a compiled RE2 may hold megabytes of DFA cache
def compile_regex(pattern: str):
    """`pattern` compiled by RE2, whose matching time is linear in the text (no catastrophic
    backtracking). Raises re2.error for a pattern RE2 refuses (backreferences, lookarounds,
    repetitions over 1000, too big a program)."""
    return re2.compile(pattern, _RE2_OPTIONS)


def _sqlite_regexp(pattern: str | None, value) -> bool | None:
    """SQLite's `value REGEXP pattern`, as SQLAlchemy's regexp_match compiles it."""
    if pattern is None or value is None:
        return None
    return compile_regex(pattern).search(value if isinstance(value, str) else str(value)) is not None


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
            # Replaces the Python-`re` REGEXP that SQLAlchemy's dialect registered just before:
            # a pattern like (a+)+$ would hold the GIL for seconds, stalling every request.
            dbapi_connection.create_function("regexp", 2, _sqlite_regexp, deterministic=True)

        if ":memory:" not in url:
            _start_wal_checkpointer(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine, info: dict | None = None) -> sessionmaker[Session]:
    """Sessions on `engine`; `info` seeds every session's `Session.info` (e.g. the outbox notifier)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)
