"""Developer tool: write the next migration from the difference between the models and the
migrations so far (`make migration MESSAGE="what changed"`). Read it before committing."""
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from core.db import models  # noqa: F401  (every model on Base.metadata)
from core.db.migrate import MIGRATIONS_DIR, alembic_config

if __name__ == "__main__":
    message = " ".join(sys.argv[1:]) or "schema change"
    with tempfile.TemporaryDirectory() as directory:
        config = alembic_config(f"sqlite:///{Path(directory) / 'autogenerate.sqlite3'}")
        command.upgrade(config, "head")
        head = ScriptDirectory.from_config(config).get_current_head()
        script = command.revision(config, message=message, autogenerate=True, rev_id=f"{int(head) + 1:04d}")
    path = Path(script.path)
    path.write_text(path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()"))
    print(f"wrote {path.relative_to(MIGRATIONS_DIR.parent.parent.parent)}")
