"""The Quix Streams baseline does driftline's job on the real Kafka and Redis.

Every record is seen, each key's hash holds its latest observation's prediction, every
outcome is learned from the state store (none left waiting), and the model sees the
vectors the lean loop gives it: the same predictions, key by key. Quix's signal handlers
do not outlive the run.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from benchmarks.baselines import lean_loop
from benchmarks.quix_baseline import available, quix_pipeline
from benchmarks.throughput import publish_records
from benchmarks.workloads import synthetic
from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.core.events.model import Observation
from tests.integration.helpers import create_topics

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="needs quixstreams (the [bench] extra)"),
]


def _hashes(client: Any, prefix: str) -> dict[str, dict[bytes, bytes]]:
    keys = sorted(client.scan_iter(match=f"{prefix}:*", count=1000))
    return {k.decode().removeprefix(f"{prefix}:"): client.hgetall(k) for k in keys}


def test_quix_pipeline_predicts_learns_and_writes_each_key(settings: Settings):
    workload = synthetic(300, 50)
    run_settings = workload.settings(settings).with_overrides(partitions=1)
    create_topics(run_settings)
    total = publish_records(run_settings, workload)
    latest = {e.key: e.event_id for e in workload.events if isinstance(e, Observation)}

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    run = quix_pipeline(run_settings, total, f"{settings.namespace}:quix", workload)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    lean = lean_loop(run_settings, total, f"{settings.namespace}:lean")

    assert total == 600
    assert run.records == total and run.seconds > 0
    assert (run.learned, run.pending) == (300, 0)
    assert lean.records == total
    assert run_settings.redis.url is not None
    client = make_redis(run_settings.redis.url.get_secret_value())
    try:
        quix = _hashes(client, f"{settings.namespace}:quix")
        lean_hashes = _hashes(client, f"{settings.namespace}:lean")
    finally:
        client.close()
    assert len(latest) == 50
    assert {key: h[b"event_id"].decode() for key, h in quix.items()} == latest
    assert quix == lean_hashes  # the same model on the same vectors, in the same order
    with admin_client(run_settings.kafka) as admin:
        left = [t for t in admin.list_topics() if "bench-quix" in t]
    assert left == []  # its changelog topic is gone
