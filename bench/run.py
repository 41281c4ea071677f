#!/usr/bin/env python3
"""Side-by-side benchmark: Labelgraph vs Label Studio 1.23.2 on the same workload.

Starts Labelgraph (`labelgraph serve`, embedded SQLite by default, PostgreSQL with
--database-url) on a fresh data directory, waits for /health, runs the unchanged
workload (`../shared/bench/lsbench.py`) against it, optionally does the same with
Label Studio (--label-studio PATH, its own fresh data directory), prints both JSON
results and a ratio table, writes everything to a JSON file, and stops the servers.

Only the standard library and `requests` are used. See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LSBENCH = REPO.parent / "shared" / "bench" / "lsbench.py"
DEFAULT_LABELGRAPH = REPO / ".venv" / "bin" / "labelgraph"
RESULTS_DIR = REPO / "bench" / "results"

# metric -> (direction, target ratio or None). "time": ratio = LS / Labelgraph;
# "rate": ratio = Labelgraph / LS. Either way, > 1 means Labelgraph is faster.
METRICS = {
    "import_s": ("time", 10.0),
    "list_page_ms_median": ("time", 15.0),
    "list_last_page_ms": ("time", 15.0),
    "annotate_per_s": ("rate", 30.0),
    "project_detail_ms_median": ("time", None),
    "export_json_s": ("time", 30.0),
}


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """A server subprocess in its own process group, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, base_url: str, token: str):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.base_url, self.token = base_url, token
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        log(f"starting {self.name}: {' '.join(self.argv)} (log: {self.log_path})")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> float:
        """Waits until /health answers 200 and the token is accepted; returns seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        headers = {"Authorization": f"Token {self.token}"}
        healthy = False
        last_note = t0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode}:\n{self.tail()}")
            try:
                if not healthy:
                    healthy = requests.get(f"{self.base_url}/health", timeout=5).status_code == 200
                if healthy:
                    r = requests.get(f"{self.base_url}/api/projects/", headers=headers, params={"page_size": 1}, timeout=10)
                    if r.status_code == 200:
                        return time.monotonic() - t0
            except requests.RequestException:
                pass
            if time.monotonic() - last_note > 30:
                log(f"still waiting for {self.name} ({time.monotonic() - t0:.0f}s)...")
                last_note = time.monotonic()
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close_log()
            return
        log(f"stopping {self.name} (pid {self.proc.pid})")
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)  # the group this script created for the server
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._close_log()

    def _close_log(self) -> None:
        if self._log:
            self._log.close()
            self._log = None


def run_workload(args, server: Server) -> dict:
    argv = [args.python, str(args.lsbench), "--url", server.base_url, "--token", server.token,
            "--tasks", str(args.tasks)]
    if args.annotate is not None:
        argv += ["--annotate", str(args.annotate)]
    if args.text_bytes is not None:
        argv += ["--text-bytes", str(args.text_bytes)]
    log(f"workload against {server.name}: {' '.join(argv)}")
    load_before = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=args.workload_timeout)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"workload failed against {server.name} (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}\n--- server log ---\n{server.tail()}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"workload printed no JSON against {server.name}:\n{proc.stdout[-2000:]}")
    result = json.loads(lines[-1])
    result["_workload_wall_s"] = round(wall, 3)
    result["_loadavg_before"] = [round(x, 2) for x in load_before]
    result["_loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    log(f"{server.name} done in {wall:.1f}s: {json.dumps(result)}")
    return result


def start_labelgraph(args, workdir: Path) -> Server:
    data_dir = workdir / "labelgraph-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    argv = [str(args.labelgraph), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            "--username", args.username, "--password", args.password, "--user-token", args.token,
            "--log-level", "warning"]
    return Server("labelgraph", argv, env, workdir / "labelgraph.log", f"http://127.0.0.1:{port}", args.token)


def start_label_studio(args, workdir: Path) -> Server:
    data_dir = workdir / "label-studio-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = args.ls_port or free_port()
    env = dict(os.environ)
    for key in ("DATABASE_URL", "DJANGO_DB", "POSTGRE_NAME", "REDIS_LOCATION"):
        env.pop(key, None)
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LOG_LEVEL": "WARNING",
        # No error/trace reporting to sentry.io from a benchmark (it retries in the background when offline).
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    })
    argv = [str(args.label_studio), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
            "--username", args.username, "--password", args.password, "--user-token", args.token]
    return Server("label-studio", argv, env, workdir / "label-studio.log", f"http://127.0.0.1:{port}", args.token)


def run_one(args, workdir: Path, factory, ready_timeout: float) -> dict:
    server = factory(args, workdir)
    port = int(server.base_url.rsplit(":", 1)[1])
    if port_in_use(port):
        raise RuntimeError(f"port {port} is already in use (pick another with --port/--ls-port)")
    try:
        server.start()
        waited = server.wait_ready(ready_timeout)
        log(f"{server.name} ready after {waited:.1f}s at {server.base_url}")
        runs = [run_workload(args, server) for _ in range(max(1, args.repeat))]
        result = combine(runs)
        result["_startup_s"] = round(waited, 1)
        return result
    finally:
        server.stop()


def combine(runs: list[dict]) -> dict:
    """One run as is; several runs (--repeat) as the median of each metric, with every run kept."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[-1])
    for name in METRICS:
        values = [r[name] for r in runs if isinstance(r.get(name), (int, float))]
        if values:
            out[name] = statistics.median(values)
    out["_runs"] = runs
    out["_aggregate"] = f"median of {len(runs)} runs"
    return out


def load_saved(path: Path, key: str) -> dict:
    data = json.loads(path.read_text())
    if key in data and isinstance(data[key], dict):
        return data[key]
    return data  # a bare lsbench result


def ratios(lg: dict, ls: dict) -> dict:
    out = {}
    for name, (direction, target) in METRICS.items():
        a, b = lg.get(name), ls.get(name)
        ratio = None
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0:
            ratio = b / a if direction == "time" else a / b
        out[name] = {
            "labelgraph": a, "label_studio": b, "ratio": ratio, "target": target,
            "meets_target": None if ratio is None or target is None else ratio >= target,
        }
    return out


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def print_table(table: dict) -> None:
    header = f"{'metric':<26} {'labelgraph':>12} {'label-studio':>13} {'ratio':>9} {'target':>7}  ok"
    print(header)
    print("-" * len(header))
    for name, row in table.items():
        ok = {True: "yes", False: "NO", None: ""}[row["meets_target"]]
        ratio = f"{row['ratio']:.1f}x" if row["ratio"] is not None else "-"
        target = f"{row['target']:.0f}x" if row["target"] else "-"
        print(f"{name:<26} {fmt(row['labelgraph']):>12} {fmt(row['label_studio']):>13} {ratio:>9} {target:>7}  {ok}")
    print("ratio = LS time / Labelgraph time (annotate_per_s: Labelgraph rate / LS rate); > 1 means Labelgraph is faster")


def git_revision() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    return {
        "host": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
        "cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def add_server_arguments(ap: argparse.ArgumentParser) -> None:
    """How the servers are started and reached: shared with bench/webhooks_bench.py."""
    ap.add_argument("--port", type=int, default=None, help="Labelgraph port (default: a free one)")
    ap.add_argument("--ls-port", type=int, default=None, help="Label Studio port (default: a free one)")
    ap.add_argument("--username", default="bench@example.com")
    ap.add_argument("--password", default="bench-password-123")
    ap.add_argument("--token", default="benchtoken0123456789", help="legacy API token given to both servers")
    ap.add_argument("--workdir", type=Path, default=None, help="where data dirs and server logs go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (data + logs) afterwards")
    ap.add_argument("--ready-timeout", type=float, default=60, help="seconds to wait for Labelgraph to start")
    ap.add_argument("--ls-ready-timeout", type=float, default=600, help="seconds to wait for Label Studio (first start migrates)")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=10000, help="tasks imported by the workload (default 10000)")
    ap.add_argument("--annotate", type=int, default=None, help="annotations written (workload default 500)")
    ap.add_argument("--text-bytes", type=int, default=None, help="bytes of text per task (workload default 200)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the workload this many times per server and report the median of each metric (default 1)")
    ap.add_argument("--lsbench", type=Path, default=DEFAULT_LSBENCH, help=f"workload script (default {DEFAULT_LSBENCH})")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs the workload (needs requests)")
    ap.add_argument("--labelgraph", type=Path, default=DEFAULT_LABELGRAPH, help="labelgraph executable")
    ap.add_argument("--database-url", default=None,
                    help="run Labelgraph on this database (DATABASE_URL), e.g. postgresql://postgres@127.0.0.1:5432/lg_bench;"
                         " default: embedded SQLite in a fresh data dir")
    ap.add_argument("--redis-url", default=None, help="REDIS_URL for Labelgraph (default: in-process jobs)")
    ap.add_argument("--label-studio", type=Path, default=None,
                    help="label-studio executable (e.g. /tmp/lsvenv/bin/label-studio) to run the same workload against")
    ap.add_argument("--ls-result", type=Path, default=None,
                    help="reuse a saved Label Studio result instead of running it (e.g. bench/results/label-studio-1.23.2-20000.json)")
    ap.add_argument("--no-labelgraph", action="store_true", help="skip Labelgraph (e.g. to record a Label Studio baseline)")
    add_server_arguments(ap)
    ap.add_argument("--workload-timeout", type=float, default=7200, help="seconds the workload may take per server")
    ap.add_argument("--out", type=Path, default=None, help="result JSON file (default bench/results/run-<UTC time>.json)")
    args = ap.parse_args(argv)
    if args.label_studio and args.ls_result:
        ap.error("--label-studio and --ls-result are exclusive")
    if args.no_labelgraph and not args.label_studio:
        ap.error("--no-labelgraph needs --label-studio")
    if not args.lsbench.exists():
        ap.error(f"workload not found: {args.lsbench}")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="labelgraph-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "started_at": started.isoformat(timespec="seconds"),
        "tasks": args.tasks,
        "workload": str(args.lsbench),
        "labelgraph_revision": None if args.no_labelgraph else git_revision(),
        "labelgraph_database": None if args.no_labelgraph else "postgresql" if (args.database_url or "").startswith("postgres") else
                               ("sqlite (embedded)" if not args.database_url else args.database_url.split(":", 1)[0]),
        "machine": machine_info(),
    }
    errors: list[str] = []
    lg = ls = None

    # Interrupts (Ctrl-C / SIGTERM) still stop the servers through the finally blocks.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not args.no_labelgraph:
            try:
                lg = run_one(args, workdir, start_labelgraph, args.ready_timeout)
            except Exception as exc:  # keep going: the LS side is still worth recording
                errors.append(f"labelgraph: {exc}")
                log(f"labelgraph FAILED: {exc}")
        if args.label_studio:
            try:
                ls = run_one(args, workdir, start_label_studio, args.ls_ready_timeout)
                ls["_label_studio"] = str(args.label_studio)
            except Exception as exc:
                errors.append(f"label-studio: {exc}")
                log(f"label-studio FAILED: {exc}")
        elif args.ls_result:
            ls = load_saved(args.ls_result, "label_studio")
            report["label_studio_source"] = str(args.ls_result)
            if ls.get("tasks") not in (None, args.tasks):
                log(f"warning: saved Label Studio result is for {ls.get('tasks')} tasks, this run uses {args.tasks}")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            log(f"kept work directory {workdir}")

    report["labelgraph"] = lg
    report["label_studio"] = ls
    if lg and ls:
        report["ratios"] = ratios(lg, ls)
    report["errors"] = errors
    report["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    report["note"] = ("Timings from one run on a shared machine; other processes may have been running. "
                      "Compare ratios from the same run, not absolute times.")

    print("labelgraph:", json.dumps(lg))
    print("label-studio:", json.dumps(ls))
    if lg and ls:
        print()
        print_table(report["ratios"])
    out = args.out or RESULTS_DIR / f"run-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
