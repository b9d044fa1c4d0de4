"""``POST /v1/predict`` over a real worker's checkpoints on the real Kafka and Redis: the
answer is the checkpointed champion's own ``predict_proba_one``, for the key's partition,
and a newer checkpoint (after more events) answers with a newer model version."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.kafka.user_topics import partition_of
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.app.serving import ApiServer, serving_app
from driftline.consumers.runner import checkpoint_codec
from driftline.core.events.model import Observation, Outcome
from driftline.core.task.checkpoint import restore_task
from tests.integration.consumers.final_state import wait_for
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
KEYS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
PARTITIONS = 3


def events(start: int, n: int) -> list[Observation | Outcome]:
    made: list[Observation | Outcome] = []
    for i in range(start, start + n):
        key, at, x = KEYS[i % len(KEYS)], T0 + timedelta(minutes=i), float(i % 7)
        made.append(Observation(event_id=f"e{i}", key=key, event_time=at, features={"x": x}))
        made.append(Outcome(event_id=f"e{i}", key=key, event_time=at, label=x > 3))
    return made


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url + "v1/predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def offline(settings: Settings, partition: int, x: dict[str, float]) -> tuple[dict, Any]:
    """The partition's latest checkpoint, restored here, and its champion's answer."""
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        blob = RedisCheckpointStore(client, settings.namespace).load(partition)
    finally:
        client.close()
    assert blob is not None
    codec = checkpoint_codec(settings.checkpoints)
    task = restore_task(blob, codec, settings.task_config(), partition)
    return task.model.predict_proba_one(x), task


def test_predict_answers_as_the_checkpointed_model_and_follows_new_checkpoints(
    settings: Settings,
):
    # raw features: the model's input is exactly the features sent
    settings = settings.with_overrides(raw_features=True, pending_ttl_s=3600.0)
    create_topics(settings, partitions=PARTITIONS)
    drain(settings, publish(settings, events(0, 120)))

    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    x = {"x": 5.0}
    try:
        with ApiServer(app, port=0) as server:
            before = {}
            for key in KEYS:
                partition = partition_of(key, PARTITIONS)
                body = post(server.url, {"key": key, "features": x})
                expected, task = offline(settings, partition, x)
                assert body["partition"] == partition
                assert body["probabilities"] == {
                    "true": expected[True],
                    "false": expected[False],
                }
                assert body["prediction"] is (expected[True] > expected[False])
                assert body["model_version"] == task.model_version > 0
                assert body["checkpoint"]["id"] == f"{partition}@{task.next_offset}"
                before[key] = body

            # nothing was learned or stored: the checkpoints are those the worker left
            for key in KEYS:
                _, task = offline(settings, partition_of(key, PARTITIONS), x)
                assert before[key]["checkpoint"]["next_offset"] == task.next_offset

            drain(settings, publish(settings, events(120, 60)))

            def moved_on() -> bool:
                return all(
                    post(server.url, {"key": key, "features": x})["checkpoint"]
                    != before[key]["checkpoint"]
                    for key in KEYS
                )

            wait_for(moved_on, 30.0, "predict to serve the newer checkpoints")
            for key in KEYS:
                partition = partition_of(key, PARTITIONS)
                body = post(server.url, {"key": key, "features": x})
                expected, task = offline(settings, partition, x)
                assert body["model_version"] == task.model_version
                assert body["model_version"] > before[key]["model_version"]
                assert body["probabilities"]["true"] == expected[True]
    finally:
        lag.close()
