"""Alembic environment. The URL (or a live connection) comes from core.db.migrate."""
from alembic import context

from core.db.engine import create_db_engine
from core.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        # Rebuilding a table (batch mode) drops the old one; with foreign keys enforced that deletes its
        # rows and cascades into the tables that refer to it. The pragma only takes effect outside a
        # transaction, so it comes first; the migrations check the keys themselves (foreign_key_check).
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
