import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from core.db.engine import normalize_url
from core.db.models import Base

REPO = Path(__file__).resolve().parents[1]


def test_import_rules_hold():
    """core imports no API layer, web framework or queue; the API layers are independent; core.shapes
    imports nothing that reaches the database (sqlalchemy, core.db, services, queries, batch reads)."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_and_migrations_agree(db_url):
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations (write a migration: `make migration MESSAGE=...`): {diff}"
