"""Export benchmark: 100,000 annotated tasks (two bounding boxes each) exported as JSON and as COCO
through the easy-export code path, and as a JSON snapshot through the "export" job.

Each export runs in a fresh child process that reads the whole file (written to /dev/null), so its
peak RSS (VmHWM) is the export's alone, next to the RSS the same process had before exporting.

    .venv/bin/python bench/export_bench.py [--tasks 100000] [--database-url sqlite:///... | postgresql://...]

Without --database-url a SQLite file in a temporary directory is used.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONFIG = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="label" toName="image"><Label value="Cat"/><Label value="Dog"/></RectangleLabels></View>')


def box(i: int, label: str, x: float) -> dict:
    return {"id": f"b{i}{label}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 1024, "original_height": 768, "image_rotation": 0,
            "value": {"x": x, "y": 12.5, "width": 20.25, "height": 30.5, "rotation": 0, "rectanglelabels": [label]}}


def seed(database_url: str, n_tasks: int) -> int:
    from sqlalchemy import insert, select

    from core.annotations.models import Annotation
    from core.db.engine import create_db_engine, make_session_factory
    from core.db.unit_of_work import transaction
    from core.db.migrate import upgrade_head
    from core.projects.models import Project
    from core.tasks.models import Task
    from core.timeutil import utcnow
    from core.users.bootstrap import ensure_user

    upgrade_head(database_url)
    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    now = utcnow()
    with transaction(factory) as session:
        user, _ = ensure_user(session, "export-bench@example.com", "export-bench-password")
        project = Project(organization_id=user.active_organization_id, created_by_id=user.id, title="export bench",
                          label_config=CONFIG)
        session.add(project)
        session.flush()
        project_id, user_id = project.id, user.id
    batch = 10_000
    for start in range(0, n_tasks, batch):
        numbers = range(start, min(n_tasks, start + batch))
        with transaction(factory) as session:
            session.execute(insert(Task), [
                {"project_id": project_id, "data": {"image": f"http://example.com/images/{i}.jpg"}, "inner_id": i + 1,
                 "created_at": now, "updated_at": now, "total_annotations": 1, "is_labeled": True} for i in numbers])
            ids = session.scalars(select(Task.id).where(Task.project_id == project_id, Task.inner_id > start,
                                                        Task.inner_id <= start + len(numbers)).order_by(Task.id)).all()
            session.execute(insert(Annotation), [
                {"task_id": task_id, "project_id": project_id, "completed_by_id": user_id, "lead_time": 4.2,
                 "result": [box(i, "Cat", 10.0 + i % 50), box(i, "Dog", 40.0)], "created_at": now, "updated_at": now}
                for i, task_id in zip(numbers, ids)])
    engine.dispose()
    return project_id


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(database_url: str, data_dir: str, project_id: int, kind: str) -> dict:
    """In a child process: one export, its time and peak RSS."""
    from core.config import Settings
    from core.context import Context
    from core.db.engine import create_db_engine, make_session_factory
    from core.exports.json_export import ExportOptions, plan_export, prepare_export
    from core.projects.models import Project
    from core.users.models import User

    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    settings = Settings(data_dir=Path(data_dir), database_url=database_url, secret_key="export-bench-secret-key-0123456789abcdef")
    session = factory()
    project = session.get(Project, project_id)
    user = session.get(User, project.created_by_id)
    rss_before = _rss_kb("VmRSS")
    began = time.perf_counter()
    size = 0
    if kind == "SNAPSHOT":
        from core.domains import register_domains
        from core.exports.models import Export
        from core.exports.snapshots import create_snapshot
        from core.jobs.runner import execute_job

        register_domains()  # the runner finds the "export" handler through the registry

        class NoQueue:
            def enqueue(self, kind, job_id):
                pass

        ctx = Context(session=session, settings=settings, user=user, organization_id=project.organization_id,
                      ports={"jobs": NoQueue()})
        view = create_snapshot(ctx, project_id, {})
        session.commit()
        began = time.perf_counter()
        execute_job(factory, settings, "export", view.export.job_id)
        session.expire_all()
        export = session.get(Export, view.export.id)
        size = (settings.data_dir / "export" / export.file).stat().st_size
        assert export.status == "completed", export.status
        tasks = export.counters["task_number"]
    else:
        ctx = Context(session=session, settings=settings, user=user, organization_id=project.organization_id)
        plan = plan_export(ctx, project_id, ExportOptions(export_type=kind, download_all_tasks=True))
        prepared = prepare_export(factory, plan)
        with open("/dev/null", "wb") as sink:
            for chunk in prepared.chunks:
                size += len(chunk)
                sink.write(chunk)
        tasks = None
    seconds = time.perf_counter() - began
    session.close()
    return {"export": kind, "seconds": round(seconds, 2), "bytes": size, "tasks": tasks,
            "rss_before_mb": round(rss_before / 1024, 1), "peak_rss_mb": round(_rss_kb("VmHWM") / 1024, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.database_url, args.data_dir, args.project, args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="export-bench-") as data_dir:
        database_url = args.database_url or f"sqlite:///{data_dir}/bench.sqlite3"
        began = time.perf_counter()
        project_id = seed(database_url, args.tasks)
        print(f"seeded {args.tasks} tasks with 2 boxes each in {time.perf_counter() - began:.1f} s ({database_url.split(':')[0]})")
        for kind in ("JSON", "COCO", "SNAPSHOT"):
            output = subprocess.run(
                [sys.executable, __file__, "--measure", kind, "--database-url", database_url, "--data-dir", data_dir,
                 "--project", str(project_id)], check=True, capture_output=True, text=True).stdout
            print(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
