"""The job registry: domains register their kinds and queues; the kernel imports none of them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.data_manager import jobs as data_manager_jobs
from core.domains import register_domains
from core.exports import jobs as export_jobs
from core.imports import jobs as import_jobs
from core.jobs import recount_project, registry
from core.jobs.registry import DEFAULT_QUEUE, EXPORTS_QUEUE, IMPORTS_QUEUE, ML_QUEUE, handler_for, queue_for, register_job_kind
from core.ml import jobs as ml_jobs


@pytest.fixture
def empty_registry(monkeypatch):
    """The registry as a fresh process has it before `register_domains`, for this test only."""
    monkeypatch.setattr(registry, "JOB_HANDLERS", {})
    monkeypatch.setattr(registry, "JOB_QUEUES", {})


def handler(session_factory, settings, job_id):
    return None


def another_handler(session_factory, settings, job_id):
    return None


def test_every_domain_kind_runs_on_its_queue(empty_registry):
    register_domains()
    register_domains()  # the app and the worker start-up may both call it
    expected = {
        recount_project.KIND: (recount_project.run, DEFAULT_QUEUE),
        data_manager_jobs.KIND: (data_manager_jobs.run, DEFAULT_QUEUE),
        import_jobs.KIND: (import_jobs.run, IMPORTS_QUEUE),
        export_jobs.EXPORT_KIND: (export_jobs.run_export, EXPORTS_QUEUE),
        export_jobs.CONVERT_KIND: (export_jobs.run_convert, EXPORTS_QUEUE),
        ml_jobs.TRAIN_KIND: (ml_jobs.run_training, ML_QUEUE),
        ml_jobs.PREDICT_KIND: (ml_jobs.run_prediction, ML_QUEUE),
    }
    assert {kind: (handler_for(kind), queue_for(kind)) for kind in registry.JOB_HANDLERS} == expected


def test_registering_a_kind_again(empty_registry):
    register_job_kind("resize", handler, queue=IMPORTS_QUEUE)
    register_job_kind("resize", handler, queue=IMPORTS_QUEUE)
    with pytest.raises(ValueError, match="already registered"):
        register_job_kind("resize", another_handler, queue=IMPORTS_QUEUE)
    with pytest.raises(ValueError, match="already registered"):
        register_job_kind("resize", handler, queue=EXPORTS_QUEUE)
    assert (handler_for("resize"), queue_for("resize")) == (handler, IMPORTS_QUEUE)


def test_a_kind_needs_a_known_queue(empty_registry):
    with pytest.raises(ValueError, match="Unknown job queue 'jobs'"):
        register_job_kind("resize", handler, queue="jobs")
    assert handler_for("resize") is None


def test_an_unknown_kind_goes_to_the_default_queue_for_the_runner_to_fail(empty_registry):
    assert (handler_for("no_such_kind"), queue_for("no_such_kind")) == (None, DEFAULT_QUEUE)


def test_the_registry_imports_no_domain():
    loaded = subprocess.run([sys.executable, "-c", "import sys, core.jobs.registry; print(*sorted(sys.modules))"],
                            cwd=Path(__file__).parent.parent, capture_output=True, text=True, check=True).stdout.split()
    assert {name for name in loaded if name.startswith("core.")} == {"core.config", "core.jobs", "core.jobs.registry"}
