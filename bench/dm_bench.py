"""Data Manager benchmark: one page of a filtered, ordered view with its total count.

The view filters on a task data field (`data.category` equal) and on `total_annotations` (> 0)
and orders by `-completed_at`; the request is `GET /api/tasks/?view=<id>&page=1&page_size=100`,
run 50 times; p50/p95 of the wall time are printed.

Labelgraph: 100,000 tasks are inserted with bulk core inserts into a fresh PostgreSQL database
(a third annotated, with counters and completed_at set as the counters module would), the app is
served by uvicorn on loopback and queried over HTTP.

    .venv/bin/python bench/dm_bench.py [--tasks 100000] [--database-url postgresql://...]

With `--label-studio URL --token T` the same tasks (annotations imported with them) and the same
view are created on that Label Studio server and the same request is timed there too.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CATEGORIES = 10
FILTERS = {
    "conjunction": "and",
    "items": [
        {"filter": "filter:tasks:data.category", "operator": "equal", "type": "String", "value": "c3"},
        {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0},
    ],
}
ORDERING = ["-tasks:completed_at"]
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>"""


def task_data(i: int) -> dict:
    return {"text": f"task {i} " + "lorem ipsum " * 10, "category": f"c{i % CATEGORIES}", "score": str(i % 100)}


def annotated(i: int) -> bool:
    return i % 3 == 0


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return statistics.median(ordered), p95


def time_requests(url: str, headers: dict, params: dict, runs: int) -> tuple[list[float], dict]:
    samples, body = [], {}
    with httpx.Client(headers=headers, timeout=120) as client:
        client.get(url, params=params).raise_for_status()  # warm-up
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params=params)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            body = response.json()
    return samples, body


# --- Labelgraph ------------------------------------------------------------------------------------

def prepare_labelgraph(database_url: str, n_tasks: int) -> tuple[str, int]:
    """A fresh database with one user, project, n tasks and the view; returns (token, view id)."""
    import psycopg
    from sqlalchemy import insert

    from core.db.engine import create_db_engine, make_session_factory
    from core.db.unit_of_work import transaction
    from core.db.migrate import upgrade_head
    from core.data_manager.models import View
    from core.projects.models import Project
    from core.tasks.models import Task
    from core.timeutil import utcnow
    from core.users.bootstrap import ensure_user

    admin_url, dbname = database_url.rsplit("/", 1)
    with psycopg.connect(admin_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    upgrade_head(database_url)
    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    now = utcnow()
    with transaction(factory) as session:
        user, token = ensure_user(session, "dm-bench@example.com", "dm-bench-password")
        project = Project(organization_id=user.active_organization_id, created_by_id=user.id, title="dm bench", label_config=CONFIG)
        session.add(project)
        session.flush()
        project_id, user_id = project.id, user.id
    random.seed(7)
    batch = 10_000
    for start in range(0, n_tasks, batch):
        rows = []
        for i in range(start, min(n_tasks, start + batch)):
            done = annotated(i)
            rows.append({
                "project_id": project_id, "data": task_data(i), "inner_id": i + 1, "created_at": now, "updated_at": now,
                "total_annotations": 1 if done else 0, "is_labeled": done,
                "completed_at": now - timedelta(seconds=random.randint(0, 10_000_000)) if done else None,
            })
        with transaction(factory) as session:
            session.execute(insert(Task), rows)
    with transaction(factory) as session:
        view = View(project_id=project_id, user_id=user_id, data={"title": "bench"}, filters=FILTERS, ordering=ORDERING)
        session.add(view)
        session.flush()
        view_id = view.id
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE tasks")
    engine.dispose()
    return token, view_id


def serve_labelgraph(database_url: str, data_dir: Path):
    import socket

    import uvicorn

    from core.config import Settings
    from labelgraph.app import create_app

    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="dm-bench-secret-key-0123456789abcdef")
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def bench_labelgraph(args) -> tuple[float, float]:
    import tempfile

    started = time.perf_counter()
    token, view_id = prepare_labelgraph(args.database_url, args.tasks)
    print(f"labelgraph: {args.tasks} tasks inserted in {time.perf_counter() - started:.1f}s", flush=True)
    server, url = serve_labelgraph(args.database_url, Path(tempfile.mkdtemp(prefix="dm-bench-")))
    try:
        samples, body = time_requests(
            url + "/api/tasks/", {"Authorization": f"Token {token}"}, {"view": view_id, "page": 1, "page_size": 100}, args.runs
        )
    finally:
        server.should_exit = True
    return report("labelgraph", samples, body)


# --- Label Studio -------------------------------------------------------------------------------------

def bench_label_studio(args) -> tuple[float, float]:
    headers = {"Authorization": f"Token {args.token}"}
    base = args.label_studio.rstrip("/")
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        project = client.post("/api/projects/", json={"title": "dm bench", "label_config": CONFIG}).json()
        try:
            started = time.perf_counter()
            batch = 10_000
            for start in range(0, args.tasks, batch):
                tasks = []
                for i in range(start, min(args.tasks, start + batch)):
                    task = {"data": task_data(i)}
                    if annotated(i):
                        task["annotations"] = [{"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]}]
                    tasks.append(task)
                client.post(f"/api/projects/{project['id']}/import", json=tasks).raise_for_status()
            print(f"label-studio: {args.tasks} tasks imported in {time.perf_counter() - started:.1f}s", flush=True)
            view = client.post("/api/dm/views/", json={"project": project["id"], "data": {"title": "bench", "filters": FILTERS, "ordering": ORDERING}}).json()
            samples, body = time_requests(base + "/api/tasks/", headers, {"view": view["id"], "page": 1, "page_size": 100}, args.runs)
        finally:
            if not args.keep:
                client.delete(f"/api/projects/{project['id']}/")
    return report("label-studio", samples, body)


def report(name: str, samples: list[float], body: dict) -> tuple[float, float]:
    p50, p95 = percentiles(samples)
    print(f"{name}: total={body.get('total')} page={len(body.get('tasks', []))} p50={p50:.1f}ms p95={p95:.1f}ms "
          f"(n={len(samples)})", flush=True)
    return p50, p95


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/labelgraph_dm_bench")
    parser.add_argument("--label-studio", default=None, help="base URL of a Label Studio server to compare with")
    parser.add_argument("--token", default=None, help="legacy API token for --label-studio")
    parser.add_argument("--no-labelgraph", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the Label Studio project")
    args = parser.parse_args(argv)
    results = {}
    if not args.no_labelgraph:
        results["labelgraph"] = bench_labelgraph(args)
    if args.label_studio:
        if not args.token:
            parser.error("--label-studio needs --token")
        results["label_studio"] = bench_label_studio(args)
    print(json.dumps({k: {"p50_ms": round(v[0], 1), "p95_ms": round(v[1], 1)} for k, v in results.items()}))


if __name__ == "__main__":
    main()
