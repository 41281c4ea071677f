"""Long jobs: a persisted row per job, delivered to workers by id.

Life cycle: `start_job` writes the row `queued` in the caller's transaction and enqueues its id
after the commit (through `ctx.ports["jobs"]`, a `core.jobs.ports.JobQueue`, on the queue its
kind was registered with: `core.jobs.registry.queue_for`). A worker calls
`core.jobs.runner.execute_job`, which claims the row with a conditional UPDATE (queued -> running,
or running with a stale heartbeat -> running), runs the kind's handler while a side thread writes
heartbeats, then marks it completed (with the handler's result) or failed (with a readable error).
Transient database errors give the claim back and are retried by the worker; a redelivered message
finds nothing to claim and returns. Jobs left queued/running by a crash or a lost message are
re-enqueued by `requeue_stale_jobs` at start-up and by the worker's periodic sweep.

Adding a kind (e.g. "import"):

1. Write the handler in the owning domain, e.g. `core/imports/jobs.py`:

       KIND = "import"

       def run(session_factory, settings, job_id) -> dict | None:
           with transaction(session_factory) as session:
               job = session.get_one(Job, job_id)   # job.payload, job.project_id, job.progress_done
           for batch in ...:                           # resume after job.progress_done
               with transaction(session_factory) as session:
                   ...write the batch...
                   report_progress(session, job_id, done, total)  # same transaction as the batch
           return {"task_count": ...}                  # stored as job.result

   Raise a `core.errors.DomainError` for bad input: the job fails with its message, no retry.
   The handler may run again after a crash, so it must be idempotent (resume from progress).
2. Register it in your domain's `register_jobs()` with its queue; `core/domains.py` calls it
   (a new domain adds its call there):

       def register_jobs() -> None:
           register_job_kind(KIND, run, queue=IMPORTS_QUEUE)

   `DEFAULT_QUEUE` is for short work (seconds: Data Manager actions, recounts); long work goes
   to its own queue (`IMPORTS_QUEUE`, `EXPORTS_QUEUE`), so it never holds up short jobs on
   workers started with `labelgraph worker --queues default`.
3. Start it from the use case: `start_job(ctx, KIND, {"file_upload_ids": [...]}, project_id=...)`
   inside the request's transaction; read it back with `get_job(ctx, job_id)`.

See `core/jobs/recount_project.py` for a complete example.
"""
