#!/usr/bin/env python3
"""Webhook benchmark: annotation saves with and without 3 project webhooks, Labelgraph vs Label Studio 1.23.2.

Against one server (started and stopped here with bench/run.py's helpers, on a fresh data dir):
1. creates a project (one Choices control) and 2 x N tasks;
2. baseline: N sequential `POST /api/tasks/{id}/annotations/` from one client, no webhooks:
   request latency p50/p95/mean and saves/s;
3. creates 3 active project webhooks (send_payload, send_for_all_actions) pointing at a receiver in
   a child process (a threaded HTTP server on loopback answering 200 at once, recording the arrival
   time, the action and the annotation id), then N more saves: the same latency figures;
4. waits until every expected delivery (3 x N ANNOTATION_CREATED) arrived, or --delivery-timeout:
   deliveries/s from the first to the last arrival, lag from the save's response (the commit is
   visible to the client) to the arrival at the receiver (p50/p95/max; negative when the server
   delivers inside the request, as Label Studio does), deliveries missing and duplicated.

    # Label Studio alone, recorded for later comparison
    .venv/bin/python bench/webhooks_bench.py --saves 10000 --label-studio /tmp/lsvenv/bin/label-studio \
        --no-labelgraph --out bench/results/webhooks-label-studio-1.23.2-10000.json
    # Labelgraph, compared with that saved run
    .venv/bin/python bench/webhooks_bench.py --saves 10000 --ls-result bench/results/webhooks-label-studio-1.23.2-10000.json

Labelgraph runs with LABELGRAPH_ALLOWED_URL_HOSTS=127.0.0.1 (its outgoing-URL policy refuses loopback
otherwise); Label Studio Community delivers to loopback as long as SSRF_PROTECTION_ENABLED is off,
which this script makes explicit. Only the standard library and `requests` are needed. See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402  (the shared server helpers of the side-by-side benchmark)
    DEFAULT_LABELGRAPH, RESULTS_DIR, Server, add_server_arguments, fmt, git_revision, load_saved, log, machine_info,
    port_in_use,
    start_label_studio, start_labelgraph,
)

WEBHOOKS = 3
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""
CHOICES = ("Positive", "Negative", "Neutral")
HTTP_TIMEOUT = 300  # seconds per request of this client (an import of 20,000 tasks included)


# --- the receiver ---------------------------------------------------------------------------------

class LoopbackReceiver:
    """A threaded HTTP server on loopback that answers 200 at once and records each delivery:
    (webhook index from the path /hook/<i>, action, annotation id, arrival time on time.monotonic,
    the system-wide clock, so arrivals compare with the client's response times in another process)."""

    def __init__(self):
        self.arrivals: list[tuple[int, str | None, int | None, float]] = []
        self.bad_bodies = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive for senders that reuse connections
            # Status, headers and body leave in one write (the buffer is flushed after do_POST),
            # without Nagle: separate small writes on a keep-alive connection meet the sender's
            # delayed ACK and cost ~40 ms per delivery, which capped a keep-alive sender at ~23/s.
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 (http.server's naming)
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                receiver._record(self.path, body, arrived)

            def log_message(self, *args):  # quiet: tens of thousands of requests
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, path: str, body: bytes, arrived: float) -> None:
        try:
            hook = int(path.rstrip("/").rsplit("/", 1)[1])
            payload = json.loads(body)
            annotation = payload.get("annotation")
            annotation_id = annotation.get("id") if isinstance(annotation, dict) else None
            entry = (hook, payload.get("action"), annotation_id, arrived)
        except (ValueError, IndexError, AttributeError):
            with self._lock:
                self.bad_bodies += 1
            return
        with self._lock:
            self.arrivals.append(entry)

    def snapshot(self) -> list[tuple[int, str | None, int | None, float]]:
        with self._lock:
            return list(self.arrivals)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _serve_receiver(conn) -> None:
    with LoopbackReceiver() as receiver:
        conn.send(receiver.url)
        while conn.recv() != "stop":
            conn.send((receiver.snapshot(), receiver.bad_bodies))


class Receiver:
    """The LoopbackReceiver in a child process: parsing 150 deliveries/s in this process would take
    the GIL from the client whose request latency is being measured."""

    def __init__(self):
        self.url = ""
        self.bad_bodies = 0

    def __enter__(self):
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        self._proc = context.Process(target=_serve_receiver, args=(child_end,), daemon=True)
        self._proc.start()
        self.url = self._conn.recv()
        return self

    def snapshot(self) -> list[tuple[int, str | None, int | None, float]]:
        self._conn.send("snapshot")
        arrivals, self.bad_bodies = self._conn.recv()
        return arrivals

    def __exit__(self, *exc):
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.terminate()


# --- the workload ---------------------------------------------------------------------------------

def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, min(len(ordered) - 1, int(round(q * len(ordered))) - 1))]


def latency_summary(samples_s: list[float], wall_s: float) -> dict:
    ordered = sorted(samples_s)
    return {
        "saves": len(samples_s),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "saves_per_s": round(len(samples_s) / wall_s, 2),
        "wall_s": round(wall_s, 3),
    }


def create_project(session: requests.Session, base: str, n_tasks: int) -> tuple[int, list[int]]:
    r = session.post(f"{base}/api/projects/", json={"title": "webhooks bench", "label_config": CONFIG}, timeout=HTTP_TIMEOUT)
    r.raise_for_status()
    pid = r.json()["id"]
    r = session.post(f"{base}/api/projects/{pid}/import", json=[{"text": f"task {i}"} for i in range(n_tasks)],
                     timeout=HTTP_TIMEOUT)
    r.raise_for_status()
    import_id = r.json().get("import")
    if import_id:  # asynchronous import: poll until it ends
        while session.get(f"{base}/api/projects/{pid}/imports/{import_id}/", timeout=HTTP_TIMEOUT).json().get("status") not in ("completed", "failed"):
            time.sleep(0.05)
    ids: list[int] = []
    page = 1
    while len(ids) < n_tasks:
        r = session.get(f"{base}/api/tasks/", params={"project": pid, "page": page, "page_size": 1000}, timeout=HTTP_TIMEOUT)
        r.raise_for_status()
        batch = [t["id"] for t in r.json()["tasks"]]
        if not batch:
            raise RuntimeError(f"project {pid} lists {len(ids)} tasks, expected {n_tasks}")
        ids += batch
        page += 1
    return pid, sorted(ids)[:n_tasks]


def save_annotations(session: requests.Session, base: str, task_ids: list[int], label: str) -> tuple[dict, dict[int, float]]:
    """Sequential annotation saves; returns the latency summary and {annotation id: response time}."""
    samples: list[float] = []
    answered: dict[int, float] = {}
    started = last_note = time.monotonic()
    for i, tid in enumerate(task_ids):
        result = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                   "value": {"choices": [CHOICES[i % 3]]}}]
        t0 = time.monotonic()  # the receiver's clock (see LoopbackReceiver)
        r = session.post(f"{base}/api/tasks/{tid}/annotations/", json={"result": result, "lead_time": 1.5},
                         timeout=HTTP_TIMEOUT)
        t1 = time.monotonic()
        if r.status_code != 201:
            raise RuntimeError(f"save {i} on task {tid}: {r.status_code} {r.text[:500]}")
        samples.append(t1 - t0)
        answered[r.json()["id"]] = t1
        if t1 - last_note > 30:
            log(f"{label}: {i + 1}/{len(task_ids)} saves, {(i + 1) / (t1 - started):.1f}/s")
            last_note = t1
    return latency_summary(samples, time.monotonic() - started), answered


def create_webhooks(session: requests.Session, base: str, pid: int, receiver_url: str) -> list[int]:
    ids = []
    for i in range(WEBHOOKS):
        r = session.post(f"{base}/api/webhooks/", json={
            "project": pid, "url": f"{receiver_url}/hook/{i}", "send_payload": True,
            "send_for_all_actions": True, "is_active": True,
        }, timeout=HTTP_TIMEOUT)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/webhooks/: {r.status_code} {r.text[:500]}")
        ids.append(r.json()["id"])
    return ids


def wait_for_deliveries(receiver: Receiver, answered: dict[int, float], timeout: float) -> dict:
    """Waits until each webhook received ANNOTATION_CREATED for every saved annotation (or timeout)."""
    expected = {(hook, aid) for hook in range(WEBHOOKS) for aid in answered}
    deadline = time.perf_counter() + timeout
    waited_from = time.perf_counter()
    while True:
        seen = {(h, a) for h, action, a, _ in receiver.snapshot() if action == "ANNOTATION_CREATED"}
        if expected <= seen or time.perf_counter() > deadline:
            break
        time.sleep(0.2)
    waited = time.perf_counter() - waited_from
    arrivals = receiver.snapshot()
    first: dict[tuple[int, int], float] = {}
    duplicates = 0
    other_actions: dict[str, int] = {}
    for hook, action, aid, t in arrivals:
        if action != "ANNOTATION_CREATED" or aid not in answered:
            other_actions[str(action)] = other_actions.get(str(action), 0) + 1
            continue
        if (hook, aid) in first:
            duplicates += 1
        else:
            first[(hook, aid)] = t
    lags = sorted(t - answered[aid] for (_, aid), t in first.items())
    times = sorted(first.values())
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    out = {
        "expected": len(expected),
        "received": len(first),
        "missing": len(expected - set(first)),
        "duplicates": duplicates,
        "other_actions": other_actions,
        "unparsed_bodies": receiver.bad_bodies,
        "waited_after_last_save_s": round(waited, 3),
        "throughput_per_s": round(len(times) / span, 2) if span > 0 else None,
        "first_to_last_arrival_s": round(span, 3),
    }
    if lags:
        out.update({
            "lag_p50_ms": round(statistics.median(lags) * 1000, 3),
            "lag_p95_ms": round(percentile(lags, 0.95) * 1000, 3),
            "lag_max_ms": round(lags[-1] * 1000, 3),
            # Label Studio posts inside the request: those arrive before the response (negative lag)
            "arrived_before_response": sum(1 for x in lags if x < 0),
        })
    return out


def run_server(args, workdir: Path, factory, ready_timeout: float, extra_env: dict[str, str], result: dict) -> dict:
    """Runs the phases against one server, filling `result` as they go (kept when a later phase fails)."""
    server: Server = factory(args, workdir)
    server.env.update(extra_env)
    port = int(server.base_url.rsplit(":", 1)[1])
    if port_in_use(port):
        raise RuntimeError(f"port {port} is already in use (pick another with --port/--ls-port)")
    result.update({"server": server.name, "saves": args.saves, "webhooks": WEBHOOKS})
    # With Redis, Labelgraph's API process only enqueues: outbox dispatch and deliveries run in a
    # `labelgraph worker` process, as in a scale-out deployment.
    worker = None
    if server.name == "labelgraph" and args.redis_url:
        worker = Server("labelgraph-worker", [str(args.labelgraph), "worker", "--processes", "1", "--threads", "4"],
                        server.env, workdir / "labelgraph-worker.log", server.base_url, server.token)
        result["worker_process"] = True
    try:
        server.start()
        if worker is not None:
            worker.start()
        result["startup_s"] = round(server.wait_ready(ready_timeout), 1)
        base = server.base_url
        with requests.Session() as session, Receiver() as receiver:
            session.headers["Authorization"] = f"Token {server.token}"
            t0 = time.perf_counter()
            warmup = min(args.warmup, args.saves)
            pid, task_ids = create_project(session, base, 2 * args.saves + warmup)
            result["setup_s"] = round(time.perf_counter() - t0, 2)
            log(f"{server.name}: project {pid} with {len(task_ids)} tasks in {result['setup_s']}s")
            save_annotations(session, base, task_ids[:warmup], f"{server.name} warm-up")
            load_before = os.getloadavg()
            result["without_webhooks"], _ = save_annotations(
                session, base, task_ids[warmup:warmup + args.saves], f"{server.name} without webhooks")
            log(f"{server.name} without webhooks: {json.dumps(result['without_webhooks'])}")
            result["webhook_ids"] = create_webhooks(session, base, pid, receiver.url)
            result["with_webhooks"], answered = save_annotations(
                session, base, task_ids[warmup + args.saves:], f"{server.name} with {WEBHOOKS} webhooks")
            log(f"{server.name} with webhooks: {json.dumps(result['with_webhooks'])}")
            result["deliveries"] = wait_for_deliveries(receiver, answered, args.delivery_timeout)
            log(f"{server.name} deliveries: {json.dumps(result['deliveries'])}")
            result["latency_ratio_p50"] = round(result["with_webhooks"]["p50_ms"] / result["without_webhooks"]["p50_ms"], 3)
            result["latency_ratio_mean"] = round(result["with_webhooks"]["mean_ms"] / result["without_webhooks"]["mean_ms"], 3)
            result["loadavg_before"] = [round(x, 2) for x in load_before]
            result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        return result
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


# --- the report -----------------------------------------------------------------------------------

ROWS = (
    ("save p50 ms, no webhooks", ("without_webhooks", "p50_ms")),
    ("save p50 ms, 3 webhooks", ("with_webhooks", "p50_ms")),
    ("  p50 with / without", ("latency_ratio_p50",)),
    ("save p95 ms, no webhooks", ("without_webhooks", "p95_ms")),
    ("save p95 ms, 3 webhooks", ("with_webhooks", "p95_ms")),
    ("save mean ms, no webhooks", ("without_webhooks", "mean_ms")),
    ("save mean ms, 3 webhooks", ("with_webhooks", "mean_ms")),
    ("  mean with / without", ("latency_ratio_mean",)),
    ("saves/s, no webhooks", ("without_webhooks", "saves_per_s")),
    ("saves/s, 3 webhooks", ("with_webhooks", "saves_per_s")),
    ("deliveries/s", ("deliveries", "throughput_per_s")),
    ("lag p50 ms (response->arrival)", ("deliveries", "lag_p50_ms")),
    ("lag p95 ms", ("deliveries", "lag_p95_ms")),
    ("lag max ms", ("deliveries", "lag_max_ms")),
    ("deliveries missing", ("deliveries", "missing")),
    ("deliveries duplicated", ("deliveries", "duplicates")),
)


def pick(result: dict | None, path: tuple[str, ...]):
    value = result
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def print_table(ls: dict | None, lg: dict | None) -> None:
    header = f"{'metric':<32} {'label-studio':>13} {'labelgraph':>12}"
    print(header)
    print("-" * len(header))
    for name, path in ROWS:
        print(f"{name:<32} {fmt(pick(ls, path)):>13} {fmt(pick(lg, path)):>12}")
    print("lag < 0: delivered inside the request, before its response (Label Studio posts synchronously)")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--saves", type=int, default=10000, help="annotation saves per phase (default 10000)")
    ap.add_argument("--warmup", type=int, default=20, help="saves before the measured phases (default 20)")
    ap.add_argument("--delivery-timeout", type=float, default=600,
                    help="seconds to wait after the last save for every delivery (default 600)")
    ap.add_argument("--labelgraph", type=Path, default=DEFAULT_LABELGRAPH, help="labelgraph executable")
    ap.add_argument("--database-url", default=None, help="DATABASE_URL for Labelgraph (default: embedded SQLite)")
    ap.add_argument("--redis-url", default=None,
                    help="REDIS_URL for Labelgraph: jobs, outbox dispatch and deliveries then run in a `labelgraph worker` "
                         "process started beside the server (default: in-process jobs)")
    ap.add_argument("--label-studio", type=Path, default=None,
                    help="label-studio executable (e.g. /tmp/lsvenv/bin/label-studio) to run the same saves against")
    ap.add_argument("--ls-result", type=Path, default=None,
                    help="a saved Label Studio result to compare with instead of running it")
    ap.add_argument("--no-labelgraph", action="store_true", help="skip Labelgraph (record a Label Studio baseline)")
    add_server_arguments(ap)
    ap.add_argument("--out", type=Path, default=None, help="result JSON (default bench/results/webhooks-<UTC time>.json)")
    args = ap.parse_args(argv)
    if args.label_studio and args.ls_result:
        ap.error("--label-studio and --ls-result are exclusive")
    if args.no_labelgraph and not args.label_studio:
        ap.error("--no-labelgraph needs --label-studio")
    if args.saves < 1:
        ap.error("--saves must be at least 1")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="labelgraph-webhooks-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "started_at": started.isoformat(timespec="seconds"),
        "saves": args.saves,
        "webhooks": WEBHOOKS,
        "labelgraph_revision": None if args.no_labelgraph else git_revision(),
        "labelgraph_database": None if args.no_labelgraph else
        ("sqlite (embedded)" if not args.database_url else args.database_url.split(":", 1)[0]),
        "machine": machine_info(),
    }
    errors: list[str] = []
    lg = ls = None
    signal.signal(signal.SIGTERM, _interrupt)  # still stops the servers through the finally blocks
    try:
        if args.label_studio:
            ls = {"label_studio": str(args.label_studio)}
            try:
                # Community's default, stated so a changed default can't silently refuse the loopback receiver.
                run_server(args, workdir, start_label_studio, args.ls_ready_timeout,
                           {"SSRF_PROTECTION_ENABLED": "false"}, ls)
            except Exception as exc:  # keep going: the other side is still worth recording
                ls["error"] = str(exc)
                errors.append(f"label-studio: {exc}")
                log(f"label-studio FAILED: {exc}")
        elif args.ls_result:
            ls = load_saved(args.ls_result, "label_studio")
            report["label_studio_source"] = str(args.ls_result)
            if ls and ls.get("saves") != args.saves:
                log(f"warning: the saved Label Studio result is for {ls.get('saves')} saves, this run does {args.saves}")
        if not args.no_labelgraph:
            lg = {}
            try:
                run_server(args, workdir, start_labelgraph, args.ready_timeout,
                           {"LABELGRAPH_ALLOWED_URL_HOSTS": "127.0.0.1"}, lg)
            except Exception as exc:
                lg["error"] = str(exc)
                errors.append(f"labelgraph: {exc}")
                log(f"labelgraph FAILED: {exc}")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            log(f"kept work directory {workdir}")

    report.update({"label_studio": ls, "labelgraph": lg, "errors": errors,
                   "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "note": "One run on a shared 2-core machine; compare the two servers from the same session."})
    print("label-studio:", json.dumps(ls))
    print("labelgraph:", json.dumps(lg))
    print()
    print_table(ls, lg)
    out = args.out or RESULTS_DIR / f"webhooks-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
