"""Import a generated CSV (default 1,000,000 rows) through POST /api/projects/{id}/import and
report the time until the import is completed and the peak RSS of the server (and worker).

Embedded default: `labelgraph serve` alone on SQLite, the import job runs on its in-process
worker. With --database-url postgresql://... and --redis-url: `labelgraph serve` plus one
`labelgraph worker` process, on a fresh database.

    .venv/bin/python bench/import_bench.py --rows 1000000
    .venv/bin/python bench/import_bench.py --rows 1000000 \
        --database-url postgresql://postgres@127.0.0.1:5432/labelgraph_import_bench --redis-url redis://127.0.0.1:6379/0
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests

BIN = Path(sys.executable).parent
TOKEN = "import-bench-token-0123456789"
CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/><Choice value="b"/></Choices></View>'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_csv(path: Path, rows: int) -> int:
    with open(path, "w") as out:
        out.write("text,number,category\n")
        for i in range(rows):
            out.write(f"\"Review {i}: the product arrived on time, works as described\",{i},c{i % 7}\n")
    return path.stat().st_size


def fresh_postgres_database(url: str) -> None:
    admin, name = url.rsplit("/", 1)
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class PeakRss:
    """Samples VmHWM (peak resident set) of some processes from /proc until stopped."""

    def __init__(self, pids: dict[str, int]):
        self.pids, self.peaks = pids, {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.peaks[name] = max(self.peaks[name], self._read(pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            if requests.get(base + "/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    data_dir = work / "data"
    data_dir.mkdir()
    csv_path = work / "rows.csv"
    size = write_csv(csv_path, args.rows)
    env = {**os.environ, "LABELGRAPH_DATA_DIR": str(data_dir), "SECRET_KEY": "import-bench-secret-key-0123456789abcdef"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if args.database_url:
        fresh_postgres_database(args.database_url)
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["LABELGRAPH_REDIS_NAMESPACE"] = f"import-bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([str(BIN / "labelgraph"), "serve", "--port", str(port), "--username", "bench@example.com",
                    "--password", "bench-password", "--user-token", TOKEN], env, work / "server.log")
    processes = {"server": server}
    try:
        wait_ready(base, server)
        if args.redis_url:
            processes["worker"] = start([str(BIN / "labelgraph"), "worker", "--threads", "1"], env, work / "worker.log")
        headers = {"Authorization": f"Token {TOKEN}"}
        project = requests.post(base + "/api/projects/", json={"title": "Import bench", "label_config": CONFIG}, headers=headers).json()["id"]
        time.sleep(1)  # let a worker process finish booting before its baseline is read
        baseline = PeakRss({name: proc.pid for name, proc in processes.items()})
        baseline.sample()
        with PeakRss({name: proc.pid for name, proc in processes.items()}) as rss:
            began = time.perf_counter()
            with open(csv_path, "rb") as handle:
                response = requests.post(f"{base}/api/projects/{project}/import", files={"file": ("rows.csv", handle)}, headers=headers)
            answered = time.perf_counter() - began
            response.raise_for_status()
            body = response.json()
            status = body
            if "import" in body:
                while True:
                    status = requests.get(f"{base}/api/projects/{project}/imports/{body['import']}/", headers=headers).json()
                    if status["status"] in ("completed", "failed"):
                        break
                    time.sleep(0.5)
            seconds = time.perf_counter() - began
        listed = requests.get(f"{base}/api/projects/{project}/", headers=headers).json()
        return {
            "backend": "postgresql+redis worker" if args.redis_url else ("postgresql embedded" if args.database_url else "sqlite embedded"),
            "rows": args.rows, "csv_mb": round(size / 2**20, 1), "status": status.get("status", "completed"),
            "error": status.get("error"), "task_count": status.get("task_count"), "project_task_number": listed.get("task_number"),
            "request_s": round(answered, 2), "total_s": round(seconds, 2), "rows_per_s": round(args.rows / seconds),
            "peak_rss_mb_before_import": {name: round(kb / 1024, 1) for name, kb in baseline.peaks.items()},
            "peak_rss_mb": {name: round(kb / 1024, 1) for name, kb in rss.peaks.items()},
        }
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL of a database to (re)create; default: SQLite")
    parser.add_argument("--redis-url", default=None, help="run the import on a `labelgraph worker` process")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    print(json.dumps(run(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()
