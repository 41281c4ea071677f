"""The one place that picks the Dramatiq broker and installs it with `dramatiq.set_broker`.

Actors are declared on the broker returned here (see workers.actors.jobs), never on an implicit
global one, so import order cannot bind an actor to the wrong broker."""
from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from core.config import Settings

# A down or unreachable Redis must cost a request milliseconds, not a hang.
REDIS_CONNECT_TIMEOUT_SECONDS = 2
REDIS_SOCKET_TIMEOUT_SECONDS = 10


def create_broker(settings: Settings) -> dramatiq.Broker:
    """RedisBroker when REDIS_URL is set (jobs run in `labelgraph worker` processes), else a
    StubBroker consumed by a worker thread inside `labelgraph serve` (the embedded default)."""
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        broker: dramatiq.Broker = RedisBroker(client=client, namespace=settings.redis_namespace)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    return broker
