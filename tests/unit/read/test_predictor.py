"""Request-time prediction from checkpoints: the checkpointed champion's own answer, through
the worker's feature steps; nothing learned; a newer checkpoint loaded; a forged one skipped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from driftline.adapters.kafka.user_topics import partition_of
from driftline.core.errors import ServiceUnavailable
from driftline.core.task.checkpoint import model_digest, restore_task, seal_task
from driftline.core.task.partition import PartitionTask
from driftline.read.predictor import CheckpointPredictor, NoModel, PredictionRefused
from tests.unit.read.predictor_fixtures import CODEC, CONFIG, T0, checkpointed, learn


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def predictor_of(store, clock: Clock | None = None, partitions: int = 1) -> CheckpointPredictor:
    return CheckpointPredictor(
        store, CODEC, CONFIG, lambda: partitions, refresh_s=5.0, monotonic=clock or Clock()
    )


def test_the_answer_is_the_checkpointed_champions(tmp_path: Path):
    store, task = checkpointed(tmp_path)
    answer = predictor_of(store).predict("k", {"x": 5.0}, T0)
    expected = task.model.predict_proba_one({"x": 5.0})
    assert answer.probabilities == {"true": expected[True], "false": expected[False]}
    assert answer.prediction is (expected[True] > expected[False])
    assert answer.positive_probability == expected[True]
    assert answer.model == task.champion and answer.model_version == task.model_version
    assert answer.checkpoint.id == f"0@{task.next_offset}"
    assert answer.checkpoint.model_digest == model_digest(task)


def test_predicting_learns_nothing_and_stores_nothing(tmp_path: Path):
    store, _task = checkpointed(tmp_path)
    blob = store.load(0)
    predictor = predictor_of(store)
    for x in range(10):
        predictor.predict("k", {"x": float(x)}, T0)
    assert store.load(0) == blob and [o for o, _ in store.history(0)] == [40]
    loaded = predictor._slots[0].served
    assert loaded is not None
    restored = restore_task(blob, CODEC, CONFIG, 0)
    assert model_digest(loaded.task) == model_digest(restored)
    assert loaded.task.metrics.counts == restored.metrics.counts
    assert len(loaded.task.pending) == 0


def test_a_newer_checkpoint_is_served_once_the_refresh_is_due(tmp_path: Path):
    store, task = checkpointed(tmp_path)
    clock = Clock()
    predictor = predictor_of(store, clock)
    first = predictor.predict("k", {"x": 5.0}, T0)
    learn(task, 20, 20)
    store.save(0, seal_task(task, CODEC, "test"), task.next_offset)
    clock.now = 4.0  # not due yet: the loaded one answers
    assert predictor.predict("k", {"x": 5.0}, T0).checkpoint == first.checkpoint
    clock.now = 5.0
    second = predictor.predict("k", {"x": 5.0}, T0)
    assert second.checkpoint.id == "0@80" != first.checkpoint.id
    assert second.model_version == task.model_version > first.model_version


def test_a_forged_latest_checkpoint_is_skipped_for_the_newest_verified(tmp_path: Path):
    store, task = checkpointed(tmp_path)
    blob = store.load(0)
    assert blob is not None
    learn(task, 20, 5)
    store.save(0, blob[:-40] + bytes([blob[-40] ^ 1]) + blob[-39:], task.next_offset)
    answer = predictor_of(store).predict("k", {"x": 5.0}, T0)
    assert answer.checkpoint.id == "0@40"


def test_no_checkpoint_or_no_topic_is_no_model(tmp_path: Path):
    store, _task = checkpointed(tmp_path, partition=0)
    key = next(k for k in (f"k{i}" for i in range(100)) if partition_of(k, 2) == 1)
    with pytest.raises(NoModel, match="partition 1 has no checkpoint"):
        predictor_of(store, partitions=2).predict(key, {"x": 1.0}, T0)
    with pytest.raises(NoModel, match="topic does not exist"):
        predictor_of(store, partitions=0).predict("k", {"x": 1.0}, T0)


def test_a_key_goes_to_the_producers_partition(tmp_path: Path):
    predictor = predictor_of(checkpointed(tmp_path)[0], partitions=6)
    for key in ("EWR", "loan-17", "ü", "k/1"):
        assert predictor.partition_of(key) == partition_of(key, 6)


def test_features_the_worker_would_dead_letter_are_refused(tmp_path: Path):
    predictor = predictor_of(checkpointed(tmp_path)[0])
    with pytest.raises(PredictionRefused) as refused:
        predictor.predict("k", {"x": 1e300}, T0)  # beyond DRIFTLINE_MAX_FEATURE_ABS
    assert refused.value.reason == "value-too-large"
    with pytest.raises(PredictionRefused) as invalid:
        predictor.predict("k", {"x": float("inf")}, T0)
    assert invalid.value.reason == "invalid-event"


def test_a_checkpoint_of_another_configuration_is_not_served(tmp_path: Path):
    store, _task = checkpointed(tmp_path)
    other = dataclasses.replace(CONFIG, seed=CONFIG.seed + 1)
    with pytest.raises(NoModel, match="another configuration.*the workers' settings"):
        # the worker would refuse it too: no skew served, and the 503 says why
        CheckpointPredictor(store, CODEC, other, lambda: 1).predict("k", {"x": 1.0}, T0)


def test_a_fresh_task_answers_too(tmp_path: Path):
    store, _ = checkpointed(tmp_path, n=0)
    fresh = PartitionTask(0, CONFIG)
    assert predictor_of(store).predict("k", {"x": 1.0}, T0).model_version == fresh.model_version


def test_a_kafka_outage_keeps_the_last_partition_count(tmp_path: Path):
    store, _ = checkpointed(tmp_path)
    kafka_down = False

    def count() -> int:
        if kafka_down:
            raise ServiceUnavailable("Kafka is down")
        return 1

    clock = Clock()
    predictor = CheckpointPredictor(store, CODEC, CONFIG, count, refresh_s=5.0, monotonic=clock)
    assert predictor.partition_count() == 1
    kafka_down, clock.now = True, 10.0  # due again: the count is asked for, and fails
    assert predictor.predict("k", {"x": 1.0}, T0).partition == 0
    with pytest.raises(ServiceUnavailable):  # nothing known yet: the outage shows
        CheckpointPredictor(store, CODEC, CONFIG, count).partition_count()
