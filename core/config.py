"""Settings from the environment. The only place that reads os.environ."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "labelgraph"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    redis_url: str | None = None
    # Prefix of every Redis key of the job queue: deployments (or test runs) sharing a Redis stay apart.
    redis_namespace: str = "labelgraph"
    max_body_bytes: int = 256 * 1024 * 1024
    access_token_ttl_seconds: int = 5 * 60
    # Outgoing URLs (url= imports, ...) may reach these hosts/IPs/CIDRs even when they are
    # loopback/private/link-local (SSRF policy, core.net.outgoing).
    allowed_url_hosts: tuple[str, ...] = ()
    url_fetch_timeout_seconds: float = 30.0
    # Imports of files up to this total size run in the request; bigger ones run as a job.
    import_sync_max_bytes: int = 2 * 1024 * 1024
    # JSON bodies bigger than this are spooled to disk and imported by a job (bounded memory).
    import_json_sync_max_bytes: int = 32 * 1024 * 1024
    # Tasks per transaction in import jobs (each batch commits with its progress).
    import_batch_size: int = 5000
    # Data Manager actions over more tasks than this run as a "dm_action" job on the workers.
    dm_action_job_threshold: int = 5000
    # Members act with their role's permissions (Label Studio Enterprise); off, every member has
    # the owner's (Label Studio Community). See core.auth.policy.
    enforce_roles: bool = False
    # Webhook delivery (core.webhooks.delivery): per-request timeout, attempts before a delivery
    # is dead-lettered, first retry delay (doubling per attempt, capped), and consecutive failed
    # attempts after which the webhook is disabled.
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    webhook_retry_base_seconds: float = 2.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_disable_after_failures: int = 50
    # How long an ML backend's /health answer is trusted before it is asked again.
    ml_health_cache_seconds: float = 30.0
    # This server's public base URL, told to ML backends at /setup (Label Studio's HOSTNAME) so
    # they can fetch task data with the access token they are given.
    hostname: str = "http://localhost:8080"
    # Origins whose pages may call the API from a browser (CORS); "*" is any, as Label Studio
    # answers; empty turns CORS off.
    cors_origins: tuple[str, ...] = ("*",)
    version: str = "1.23.2"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _secret_key(data_dir: Path) -> str:
    """SECRET_KEY from the environment, else generated once and kept in the data dir."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(data_dir: str | Path | None = None) -> Settings:
    directory = Path(data_dir or os.environ.get("LABELGRAPH_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{directory / 'labelgraph.sqlite3'}"
    return Settings(
        data_dir=directory,
        database_url=database_url,
        secret_key=_secret_key(directory),
        redis_url=os.environ.get("REDIS_URL") or None,
        redis_namespace=os.environ.get("LABELGRAPH_REDIS_NAMESPACE") or "labelgraph",
        max_body_bytes=int(os.environ.get("LABELGRAPH_MAX_BODY_BYTES", 256 * 1024 * 1024)),
        allowed_url_hosts=tuple(h.strip() for h in os.environ.get("LABELGRAPH_ALLOWED_URL_HOSTS", "").split(",") if h.strip()),
        import_sync_max_bytes=int(os.environ.get("LABELGRAPH_IMPORT_SYNC_MAX_BYTES", 2 * 1024 * 1024)),
        import_json_sync_max_bytes=int(os.environ.get("LABELGRAPH_IMPORT_JSON_SYNC_MAX_BYTES", 32 * 1024 * 1024)),
        import_batch_size=int(os.environ.get("LABELGRAPH_IMPORT_BATCH_SIZE", 5000)),
        dm_action_job_threshold=int(os.environ.get("LABELGRAPH_DM_ACTION_JOB_THRESHOLD", 5000)),
        enforce_roles=os.environ.get("LABELGRAPH_ENFORCE_ROLES", "").lower() in ("1", "true", "yes", "on"),
        webhook_timeout_seconds=float(os.environ.get("LABELGRAPH_WEBHOOK_TIMEOUT", 10.0)),
        webhook_max_attempts=int(os.environ.get("LABELGRAPH_WEBHOOK_MAX_ATTEMPTS", 8)),
        webhook_retry_base_seconds=float(os.environ.get("LABELGRAPH_WEBHOOK_RETRY_BASE", 2.0)),
        webhook_retry_max_seconds=float(os.environ.get("LABELGRAPH_WEBHOOK_RETRY_MAX", 3600.0)),
        webhook_disable_after_failures=int(os.environ.get("LABELGRAPH_WEBHOOK_DISABLE_AFTER", 50)),
        ml_health_cache_seconds=float(os.environ.get("LABELGRAPH_ML_HEALTH_CACHE", 30.0)),
        hostname=os.environ.get("LABELGRAPH_HOSTNAME", "http://localhost:8080"),
        cors_origins=tuple(o.strip() for o in os.environ.get("LABELGRAPH_CORS_ORIGINS", "*").split(",") if o.strip()),
    )
