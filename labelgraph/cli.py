"""The `labelgraph` command: serve, worker, migrate, create-user."""
from __future__ import annotations

import argparse
import gc
import logging
import shlex
import sys
from pathlib import Path

from core.config import load_settings
from core.db.engine import create_db_engine, make_session_factory
from core.db.unit_of_work import transaction
from core.db.migrate import upgrade_head
from core.jobs.registry import DEFAULT_QUEUE, EXPORTS_QUEUE, IMPORTS_QUEUE, QUEUES
from core.users.bootstrap import ensure_user, has_users
from workers.runtime import WorkerOptions


def _bootstrap_user(settings, email: str, password: str | None, token: str | None) -> str:
    engine = create_db_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            _, key = ensure_user(session, email, password, token=token)
        return key
    finally:
        engine.dispose()


def _has_users(settings) -> bool:
    engine = create_db_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return has_users(session)
    finally:
        engine.dispose()


def first_user_hint(data_dir: str | None) -> str:
    """What to do on a database without users: nothing answers without a token."""
    program = sys.argv[0] if Path(sys.argv[0]).name == "labelgraph" else "labelgraph"
    command = [program, "create-user", "you@example.com", "--password", "CHOOSE-A-PASSWORD"]
    if data_dir:
        command += ["--data-dir", data_dir]
    return (
        "No user yet: every API call needs a user's token. Create the first user (it may run while the server runs);\n"
        f"it prints the user's API token:\n\n    {shlex.join(command)}\n\n"
        "or restart with --username EMAIL --password PASSWORD [--user-token TOKEN]. Then send\n"
        "`Authorization: Token <token>` (curl -H, or GraphiQL's Headers tab)."
    )


def cmd_serve(args) -> int:
    import uvicorn

    from labelgraph.app import create_app

    settings = load_settings(args.data_dir)
    upgrade_head(settings.database_url)
    if args.username:
        key = _bootstrap_user(settings, args.username, args.password, args.user_token)
        print(f"User {args.username} ready; legacy API token: {key}", flush=True)
    elif not _has_users(settings):
        print(first_user_hint(args.data_dir), flush=True)
    print(f"Labelgraph on http://{args.host}:{args.port}/ (GraphiQL at /graphql), data directory {settings.data_dir}", flush=True)
    app = create_app(settings)
    tune_garbage_collector()
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    return 0


def tune_garbage_collector() -> None:
    """A request that parses 20,000 tasks allocates hundreds of thousands of containers; with
    CPython's default thresholds that triggers full collections over every live object, which
    cost more than the import itself. Objects alive after start-up are frozen out of collection
    and young collections run less often; reference counting still frees almost everything."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def cmd_worker(args) -> int:
    from workers.process import run_worker

    settings = load_settings(args.data_dir)
    if not settings.redis_url:
        print("labelgraph worker needs REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
              "without it `labelgraph serve` runs jobs in-process.", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    options = WorkerOptions(threads=args.threads, queues=args.queues, sweep_interval=args.sweep_interval,
                            requeue_after=args.requeue_after, heartbeat_timeout=args.heartbeat_timeout)
    return run_worker(settings, options, processes=args.processes)


def parse_job_queues(value: str) -> tuple[str, ...]:
    """--queues: comma-separated names among core.jobs.registry.QUEUES, in that order, no repeats."""
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - set(QUEUES)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(QUEUES)}; got {value!r}")
    return tuple(queue for queue in QUEUES if queue in names)


def cmd_migrate(args) -> int:
    settings = load_settings(args.data_dir)
    upgrade_head(settings.database_url)
    print("Database is at the latest migration.")
    return 0


def cmd_create_user(args) -> int:
    settings = load_settings(args.data_dir)
    upgrade_head(settings.database_url)
    print(_bootstrap_user(settings, args.email, args.password, args.token))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labelgraph", description="Labelgraph: Label Studio-compatible REST + GraphQL backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and serve REST + GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data-dir", default=None)
    serve.add_argument("--username", help="email of the first user, created when absent")
    serve.add_argument("--password")
    serve.add_argument("--user-token", help="legacy API token for --username")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    serve.set_defaults(func=cmd_serve)

    defaults = WorkerOptions()
    worker = sub.add_parser("worker", help="run background jobs from the Redis broker (needs REDIS_URL)")
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default: 1)")
    worker.add_argument("--threads", type=int, default=defaults.threads, help=f"worker threads per process (default: {defaults.threads})")
    worker.add_argument("--queues", type=parse_job_queues, default=defaults.queues, metavar=",".join(QUEUES),
                        help=f"comma-separated job queues to take jobs from (default: all). {DEFAULT_QUEUE!r} carries short jobs "
                             f"(Data Manager actions, recounts), {IMPORTS_QUEUE!r} and {EXPORTS_QUEUE!r} long ones; a worker of "
                             f"its own for --queues {DEFAULT_QUEUE} keeps short jobs from waiting behind long ones")
    worker.add_argument("--sweep-interval", type=float, default=defaults.sweep_interval, metavar="SECONDS",
                        help="how often to look for stale jobs to re-enqueue")
    worker.add_argument("--requeue-after", type=float, default=defaults.requeue_after, metavar="SECONDS",
                        help="re-enqueue a job still queued after this long (its message may be lost)")
    worker.add_argument("--heartbeat-timeout", type=float, default=defaults.heartbeat_timeout, metavar="SECONDS",
                        help="reclaim a running job without a heartbeat for this long (same on every worker)")
    worker.add_argument("--data-dir", default=None)
    worker.add_argument("--log-level", default="info")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--data-dir", default=None)
    migrate.set_defaults(func=cmd_migrate)

    create_user = sub.add_parser("create-user", help="create a user (and organization); prints the legacy API token")
    create_user.add_argument("email")
    create_user.add_argument("--password")
    create_user.add_argument("--token", help="use this legacy API token")
    create_user.add_argument("--data-dir", default=None)
    create_user.set_defaults(func=cmd_create_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
