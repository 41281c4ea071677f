"""Job kinds and the core function that runs each. Add a line here for a new kind."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.data_manager import jobs as dm_action_jobs
from core.imports import jobs as import_jobs
from core.exports import jobs as export_jobs
from core.jobs import recount_project

# run(session_factory, settings, job_id) -> result stored on the job (a JSON dict) or None.
JobHandler = Callable[[sessionmaker[Session], Settings, int], "dict[str, Any] | None"]

JOB_HANDLERS: dict[str, JobHandler] = {
    recount_project.KIND: recount_project.run,
    export_jobs.EXPORT_KIND: export_jobs.run_export,
    export_jobs.CONVERT_KIND: export_jobs.run_convert,
    import_jobs.KIND: import_jobs.run,
    dm_action_jobs.KIND: dm_action_jobs.run,
}


def handler_for(kind: str) -> JobHandler | None:
    return JOB_HANDLERS.get(kind)
