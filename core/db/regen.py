"""Developer tool: regenerate the initial migration from the models (`make migration-regen`)."""
from pathlib import Path

from alembic import command

from core.db.migrate import MIGRATIONS_DIR, alembic_config

if __name__ == "__main__":
    config = alembic_config("sqlite:////tmp/labelgraph_regen.sqlite3")
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    for path in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
        text = path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
        text = text.replace("from sqlalchemy.dialects import postgresql\nfrom sqlalchemy.dialects import postgresql\n", "from sqlalchemy.dialects import postgresql\n")
        Path(path).write_text(text)
