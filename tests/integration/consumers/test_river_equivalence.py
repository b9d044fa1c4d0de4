"""Invariant 3 on the real services: with raw features and one partition, the worker's
predictions equal River's own progressive validation on the same stream and delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from river import datasets, evaluate, metrics

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.models import build_model
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.producers.sources import LabelledEvent
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, tzinfo=UTC)

CASES = {
    "classifier": (
        datasets.Phishing,
        "preprocessing.StandardScaler() | linear_model.LogisticRegression()",
        metrics.Accuracy,
        3,
    ),
    "regressor": (
        datasets.TrumpApproval,
        "preprocessing.StandardScaler() | linear_model.LinearRegression()",
        metrics.MAE,
        7,
    ),
}


@pytest.fixture(params=["kafka-python", "confluent"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Each case runs on both Kafka client libraries (DRIFTLINE_KAFKA_CLIENT)."""
    return settings.with_overrides(kafka_client=request.param)


def _source(dataset, delay: int):
    for i, (x, y) in enumerate(dataset):
        yield LabelledEvent(
            Observation(
                event_id=str(i), key="all", event_time=T0 + timedelta(seconds=i), features=x
            ),
            Outcome(
                event_id=str(i), key="all", event_time=T0 + timedelta(seconds=i + delay), label=y
            ),
        )


@pytest.mark.parametrize("case", sorted(CASES))
def test_worker_predictions_equal_river_progressive_validation(settings: Settings, case: str):
    make_dataset, spec, metric, delay = CASES[case]
    settings = settings.with_overrides(
        model=spec, raw_features=True, max_future_s=1e10, partitions=1
    )
    create_topics(settings, partitions=1)
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=0, max_s=0))  # arrival = event time
    published = publish(settings, (t.event for t in plan.schedule(_source(make_dataset(), delay))))
    drain(settings, published)

    redis_client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    entries = redis_client.xrange(f"{settings.namespace}:predictions")
    redis_client.close()
    import json

    ours = {int(f[b"event_id"]): json.loads(f[b"prediction"]) for _, f in entries}
    assert len(ours) == len(entries)  # one prediction per observation, none twice

    reference = [
        step["Prediction"]
        for step in evaluate.iter_progressive_val_score(
            make_dataset(),
            build_model(spec),
            metric(),
            delay=delay,
            step=1,
            yield_predictions=True,
        )
    ]
    assert len(ours) == len(reference)
    # River answers in question order for a constant delay: the i-th answer is for x_i.
    if case == "classifier":
        assert [ours[i] for i in range(len(ours))] == reference
    else:
        assert [ours[i] for i in range(len(ours))] == pytest.approx(reference, rel=1e-9)
