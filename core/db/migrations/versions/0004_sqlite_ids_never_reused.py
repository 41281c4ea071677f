"""ids never reused on SQLite: AUTOINCREMENT on every single integer primary key

Without AUTOINCREMENT SQLite hands the id of the last deleted row to the next insert, so an id a
client kept could name another object. SQLite cannot add the keyword to an existing table: each
table is rebuilt (copied into a new table and renamed), its rows, indexes and foreign keys kept.
PostgreSQL sequences never go back: nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 21:00:00
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The tables of revision 0003 whose primary key is one INTEGER column (legacy_tokens' is a string).
TABLES = (
    'organizations', 'users', 'organization_members', 'refresh_tokens', 'projects', 'tasks', 'annotations',
    'predictions', 'task_events', 'dm_views', 'file_uploads', 'project_imports', 'jobs', 'exports',
    'export_converted_formats', 'outbox_events', 'webhooks', 'webhook_messages', 'webhook_deliveries',
    'ml_backends',
)


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    # Dropping a table with foreign keys enforced deletes its rows first, and ON DELETE CASCADE would
    # empty the tables that refer to it: core.db.migrations.env runs SQLite migrations with them off.
    if bind.exec_driver_sql('PRAGMA foreign_keys').scalar():
        raise RuntimeError('revision 0004 rebuilds tables: run it with PRAGMA foreign_keys=OFF')
    # The copy is reflected from the table: columns, defaults, foreign keys, unique constraints and
    # indexes (partial ones with their WHERE) come back as they were.
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass
    problems = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
    if problems:
        raise RuntimeError(f'foreign keys broken by the rebuild: {problems[:10]}')


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
