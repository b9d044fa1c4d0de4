"""``driftline consume --model mymodel:make --features feats:features`` from the user's
folder, on the real Kafka and Redis: the modules are found in the working directory (not on
``sys.path``: ``python -P``, as under the console script), predictions appear, and the
model learned the feature function's output, as River learns it on the same rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from river import linear_model

import driftline
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.settings import Settings
from driftline.consumers.runner import checkpoint_codec
from driftline.core.events.model import FeatureValue, Observation, Outcome
from driftline.core.task.checkpoint import models_of
from driftline.read.reader import PredictionsClient
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.helpers import create_topics, publish

pytestmark = pytest.mark.integration

MODEL_PY = """
from river import linear_model

def make():
    return linear_model.LogisticRegression()
"""
FEATS_PY = """
def features(obs):
    debt, income = obs.features["debt"], obs.features["income"]
    return {"ratio": debt / income, "big": 1.0 if debt > 500 else 0.0}
"""
T0 = datetime(2024, 5, 1, tzinfo=UTC)
ROWS = [(100.0 + 37.0 * (i % 23), 1000.0 + 45.0 * (i % 7)) for i in range(60)]


def user_features(debt: float, income: float) -> dict[str, float]:
    """What feats.py computes, written again for River's reference."""
    return {"ratio": debt / income, "big": 1.0 if debt > 500 else 0.0}


def events() -> list[Observation | Outcome]:
    out: list[Observation | Outcome] = []
    for i, (debt, income) in enumerate(ROWS):
        at = T0 + timedelta(minutes=i)
        features = {"debt": debt, "income": income}
        out.append(Observation(event_id=f"e{i}", key=f"c{i}", event_time=at, features=features))
        label = debt / income > 0.4
        out.append(Outcome(event_id=f"e{i}", key=f"c{i}", event_time=at, label=label))
    return out


def test_consume_runs_the_users_model_and_feature_function(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "mymodel.py").write_text(MODEL_PY)
    (tmp_path / "feats.py").write_text(FEATS_PY)
    create_topics(settings, partitions=1)
    stream = events()
    assert publish(settings, stream) == len(stream)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")} | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
        "DRIFTLINE_REDIS_URL": settings.redis.url.get_secret_value(),  # type: ignore[union-attr]
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
    }
    done = subprocess.run(
        [sys.executable, "-P", "-m", "driftline", "consume", "--json"]
        + ["--model", "mymodel:make", "--features", "feats:features"]
        + ["--max-events", str(len(stream)), "--until-idle", "5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["predictions"] == len(ROWS) and summary["dead_letters"] == 0

    # River's reference: predict each row's features, then learn them, in order
    reference = linear_model.LogisticRegression()
    expected = {}
    for i, (debt, income) in enumerate(ROWS):
        x = user_features(debt, income)
        expected[f"c{i}"] = reference.predict_proba_one(x)
        reference.learn_one(x, debt / income > 0.4)

    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        stored = PredictionsClient(client, settings.namespace).get_many(expected)
        blob = client.get(RedisKeys(settings.namespace).checkpoint(0))
    finally:
        client.close()
    assert set(stored) == set(expected)
    for key, prediction in stored.items():
        assert prediction.probabilities is not None
        got = sorted(prediction.probabilities.values())
        want = sorted(expected[key].values())
        assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(got, want, strict=True)), key
    assert blob is not None
    _, models = models_of(blob, checkpoint_codec(settings.checkpoints), 0)
    learned = models["main"]
    assert set(learned.weights) == {"ratio", "big"}  # the function's output, nothing else
    for name, weight in reference.weights.items():
        assert math.isclose(learned.weights[name], weight, abs_tol=1e-9), name


def loan_features(obs: Observation) -> dict[str, FeatureValue]:
    """feats.py's function, given in Python."""
    debt, income = obs.features["debt"], obs.features["income"]
    assert isinstance(debt, float) and isinstance(income, float)
    return user_features(debt, income)


def test_run_worker_from_python_with_an_estimator_object(settings: Settings) -> None:
    create_topics(settings, partitions=1)
    stream = events()
    publish(settings, stream)
    prototype = linear_model.LogisticRegression()
    summary = driftline.run_worker(
        prototype, loan_features, settings=settings, max_events=len(stream), until_idle_s=5
    )
    assert summary["predictions"] == len(ROWS) and summary["partitions"] == [0]
    assert prototype.weights == {}  # the worker learned a clone, not the object given
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        blob = client.get(RedisKeys(settings.namespace).checkpoint(0))
    finally:
        client.close()
    assert blob is not None
    _, models = models_of(blob, checkpoint_codec(settings.checkpoints), 0)
    assert set(models["main"].weights) == {"ratio", "big"}
