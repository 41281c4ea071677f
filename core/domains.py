"""The one place where domains plug into the kernels: job kinds (core.jobs.registry) and, as
domains gain them, outbox subscribers (core.events.outbox.register_subscriber).

Kernels such as `core.jobs` import no domain; each domain exposes a registration function, and
every process that serves requests or runs jobs calls `register_domains()` once at start-up
(`labelgraph.app.create_app`, `workers.process`)."""
from __future__ import annotations

from core.data_manager import jobs as data_manager_jobs
from core.exports import jobs as export_jobs
from core.imports import jobs as import_jobs
from core.jobs import recount_project
from core.ml import jobs as ml_jobs
from core.webhooks import subscriber as webhook_subscriber


def register_domains() -> None:
    """Register every domain's job kinds. Idempotent: safe to call from each app and worker."""
    recount_project.register_jobs()
    import_jobs.register_jobs()
    export_jobs.register_jobs()
    data_manager_jobs.register_jobs()
    ml_jobs.register_jobs()
    ml_jobs.register_subscribers()
    webhook_subscriber.register_subscribers()
