"""A task's checkpoint: sealed and restored at any point it equals the task that never
stopped; refused (before anything is unpickled) when tampered with, sealed with
another key, of another partition, configuration or format; described and exported
without unpickling.

Pure unit tests: no Kafka, no Redis server, no clock, no sleep."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
import river
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import compose, linear_model

from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.task.checkpoint import (
    FORMAT,
    config_fingerprint,
    describe,
    export_model,
    model_digest,
    restore_task,
    seal_task,
)
from driftline.core.task.digest import state_digest
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.task.seal import CheckpointCodec, CheckpointError
from driftline.core.times import from_millis, to_millis
from tests.unit.core.task.checkpoint_stream import (
    CONFIG,
    EVENTS,
    fresh_task,
    run,
    stream,
    trained_task,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
CODEC = CheckpointCodec(KEY)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PARTITION = 3
NAMESPACE = "ckpt"


# -- a payload that proves whether it was unpickled -----------------------------------------------
DETONATIONS: list[str] = []


def _detonate(tag: str) -> None:
    """Called by unpickling a :class:`Bomb`: records the call, then raises."""
    DETONATIONS.append(tag)
    raise RuntimeError(f"the payload ran ({tag})")


class Bomb:
    """Pickles to a call of :func:`_detonate`: unpickling it is observable."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_detonate, ("bomb",))


BOMB = pickle.dumps(Bomb(), protocol=5)


@pytest.fixture(autouse=True)
def _no_detonations() -> Iterator[None]:
    DETONATIONS.clear()
    yield
    DETONATIONS.clear()


# -- the record stream -----------------------------------------------------------------------------
def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@cache
def uninterrupted() -> tuple[PartitionTask, tuple[TaskOutput, ...]]:
    """The reference: one task that sees the whole stream and never stops.

    It is fed one record per call so the output of any suffix of the stream is known (a
    dead letter can carry an older record's offset: an early outcome expiring later).
    """
    task = PartitionTask(PARTITION, CONFIG)
    return task, tuple(run(task, [record]) for record in stream())


def outputs_from(start: int) -> TaskOutput:
    """What the uninterrupted task produced while processing records ``start`` onwards."""
    merged = TaskOutput()
    for out in uninterrupted()[1][start:]:
        merged.predictions += out.predictions
        merged.dead_letters += out.dead_letters
        merged.expired += out.expired
    return merged


def bomb_blob(codec: CheckpointCodec = CODEC, **changes: Any) -> bytes:
    """A correctly sealed blob with a real task's header whose payload is a :class:`Bomb`."""
    header = codec.open(seal_task(trained_task(20), codec, NAMESPACE))[0]
    return codec.seal(header | changes, BOMB)


def test_the_stream_has_what_the_property_needs() -> None:
    task = uninterrupted()[0]
    counts = task.metrics.counts
    assert len(stream()) >= 280
    assert counts["learned"] > 50
    assert counts["early_outcomes"] > 5
    assert counts["duplicates"] > 5
    assert counts["expired"] > 5
    assert task.metrics.dead_letters["expired-observation"] > 0
    assert task.metrics.dead_letters["unknown-observation"] > 0
    assert (
        counts["dead_letters"] > counts["dead_letters_observation"] + counts["dead_letters_outcome"]
    )  # the undecodable record
    # the reference is fed record by record; one batch gives the same (batching is no state)
    batched = fresh_task()
    out = run(batched, stream())
    expected = outputs_from(0)
    assert (out.predictions, out.dead_letters) == (expected.predictions, expected.dead_letters)
    assert batched.snapshot() == task.snapshot()
    assert model_digest(batched) == model_digest(task)
    offsets = [r.offset for r in stream()]
    assert any(b - a > 1 for a, b in zip(offsets, offsets[1:], strict=False))  # gaps


def test_a_properly_sealed_bomb_does_run_when_restored() -> None:
    """The positive control: the payload below really executes when it is unpickled."""
    with pytest.raises(RuntimeError, match="the payload ran"):
        restore_task(bomb_blob(), CODEC, CONFIG, PARTITION)
    assert DETONATIONS == ["bomb"]


@cache
def flip_targets() -> dict[str, bytes]:
    return {"bomb": bomb_blob(), "task": seal_task(trained_task(), CODEC, NAMESPACE)}


@settings(max_examples=300, deadline=None)
@given(which=st.sampled_from(["bomb", "task"]), data=st.data())
def test_any_flipped_bit_is_refused_before_unpickling(which: str, data: st.DataObject) -> None:
    blob = flip_targets()[which]
    bit = data.draw(st.integers(0, len(blob) * 8 - 1), label="bit")
    tampered = bytearray(blob)
    tampered[bit // 8] ^= 1 << (bit % 8)
    DETONATIONS.clear()
    with pytest.raises(CheckpointError, match="checkpoint refused"):
        CODEC.open(bytes(tampered))
    with pytest.raises(CheckpointError, match="checkpoint refused"):
        restore_task(bytes(tampered), CODEC, CONFIG, PARTITION)
    with pytest.raises(CheckpointError, match="checkpoint refused"):
        describe(bytes(tampered), CODEC)
    assert DETONATIONS == []


def test_flips_in_the_header_and_the_payload_are_refused() -> None:
    """The regions the hypothesis test draws from, hit on purpose (magic, length, both)."""
    blob = bomb_blob()
    payload_start = len(blob) - 32 - len(BOMB)
    for index in (0, 3, 4, 7, 8, payload_start - 1, payload_start, len(blob) - 33, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[index] ^= 0x80
        with pytest.raises(CheckpointError):
            restore_task(bytes(tampered), CODEC, CONFIG, PARTITION)
    assert DETONATIONS == []


def test_another_key_is_refused_before_unpickling() -> None:
    other = CheckpointCodec(OTHER_KEY)
    blob = bomb_blob(other)
    with pytest.raises(CheckpointError, match="another key"):
        CODEC.open(blob)
    with pytest.raises(CheckpointError, match="another key"):
        restore_task(blob, CODEC, CONFIG, PARTITION)
    with pytest.raises(CheckpointError, match="another key"):
        export_model(blob, CODEC, CONFIG, PARTITION)
    assert DETONATIONS == []
    genuine = seal_task(trained_task(), other, NAMESPACE)
    with pytest.raises(CheckpointError):
        restore_task(genuine, CODEC, CONFIG, PARTITION)
    assert restore_task(genuine, other, CONFIG, PARTITION).partition == PARTITION


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_truncated_or_extended_blobs_are_refused(data: st.DataObject) -> None:
    blob = flip_targets()["bomb"]
    cut = data.draw(st.integers(0, len(blob) - 1), label="cut")
    extra = data.draw(st.binary(min_size=1, max_size=64), label="extra")
    DETONATIONS.clear()
    for bad in (blob[:cut], blob[cut + 1 :], blob + extra, blob[:cut] + blob[cut + 1 :]):
        with pytest.raises(CheckpointError):
            restore_task(bad, CODEC, CONFIG, PARTITION)
    assert DETONATIONS == []


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"DLCK",
        b"DLCK" + b"\x00" * 35,  # long enough, a zero header, a wrong MAC
        b"\x00" * 4096,
        BOMB,  # a bare pickle, no seal at all
        b"DLCK" + BOMB,
        pickle.dumps({"model": None}),
    ],
    ids=["empty", "magic", "zeros-after-magic", "zeros", "bare-pickle", "magic-pickle", "dict"],
)
def test_non_checkpoint_bytes_are_refused(blob: bytes) -> None:
    with pytest.raises(CheckpointError, match="checkpoint refused"):
        CODEC.open(blob)
    with pytest.raises(CheckpointError, match="checkpoint refused"):
        restore_task(blob, CODEC, CONFIG, PARTITION)
    assert DETONATIONS == []


# -- restore_task refuses what it must -------------------------------------------------------------
def test_restore_refuses_another_partition() -> None:
    blob = seal_task(trained_task(), CODEC, NAMESPACE)
    with pytest.raises(CheckpointError, match=f"partition {PARTITION} offered for 4"):
        restore_task(blob, CODEC, CONFIG, 4)
    with pytest.raises(CheckpointError, match="partition"):
        restore_task(bomb_blob(), CODEC, CONFIG, 4)
    assert DETONATIONS == []


@pytest.mark.parametrize(
    "other",
    [
        TaskConfig(
            model="preprocessing.StandardScaler() | linear_model.LogisticRegression()",
            features=CONFIG.features,
            pending_ttl_s=CONFIG.pending_ttl_s,
            dedupe_size=CONFIG.dedupe_size,
            rolling_window=CONFIG.rolling_window,
        ),
        TaskConfig(
            model=CONFIG.model,
            seed=7,
            features=CONFIG.features,
            pending_ttl_s=CONFIG.pending_ttl_s,
            dedupe_size=CONFIG.dedupe_size,
            rolling_window=CONFIG.rolling_window,
        ),
        TaskConfig(),
    ],
    ids=["model", "seed", "defaults"],
)
def test_restore_refuses_another_configuration(other: TaskConfig) -> None:
    assert config_fingerprint(other) != config_fingerprint(CONFIG)
    blob = seal_task(trained_task(), CODEC, NAMESPACE)
    with pytest.raises(CheckpointError, match="made with another configuration") as caught:
        restore_task(blob, CODEC, other, PARTITION)
    assert config_fingerprint(CONFIG) in str(caught.value)
    assert config_fingerprint(other) in str(caught.value)
    with pytest.raises(CheckpointError, match="another configuration"):
        restore_task(bomb_blob(), CODEC, other, PARTITION)
    assert DETONATIONS == []


@pytest.mark.parametrize("fmt", [FORMAT + 1, 0, None, "1"])
def test_restore_refuses_another_format(fmt: Any) -> None:
    header, payload = CODEC.open(seal_task(trained_task(), CODEC, NAMESPACE))
    with pytest.raises(CheckpointError, match="format"):
        restore_task(CODEC.seal(header | {"format": fmt}, payload), CODEC, CONFIG, PARTITION)
    with pytest.raises(CheckpointError, match="format"):
        restore_task(bomb_blob(format=fmt), CODEC, CONFIG, PARTITION)
    assert DETONATIONS == []


# -- the core property: a restored task continues as if it never stopped ---------------------------
def assert_continues_like_uninterrupted(task: PartitionTask, out: TaskOutput, start: int) -> None:
    """``task`` ran the whole stream with stops; ``out`` is its output from record ``start``."""
    reference = uninterrupted()[0]
    expected = outputs_from(start)
    assert out.predictions == expected.predictions
    assert out.dead_letters == expected.dead_letters
    assert out.expired == expected.expired
    assert model_digest(task) == model_digest(reference)
    assert task.metrics.snapshot() == reference.metrics.snapshot()
    assert task.snapshot() == reference.snapshot()
    assert len(task.pending) == len(reference.pending)
    assert len(task.early) == len(reference.early)
    assert task.model_version == reference.model_version
    assert task.next_offset == reference.next_offset
    assert task.max_event_time == reference.max_event_time
    probe = {"distance": 1500.0, "carrier": "UA", "red": 1.0, "hour": 3.0, "lateness_s": 4.0}
    assert task.model.predict_proba_one(probe) == reference.model.predict_proba_one(probe)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, len(stream())))
def test_checkpoint_at_any_point_then_restore_equals_uninterrupted(k: int) -> None:
    records = stream()
    k = min(k, len(records))
    before = fresh_task()
    run(before, records[:k])
    blob = seal_task(before, CODEC, NAMESPACE)
    header = CODEC.header(blob)
    assert header["next_offset"] == (records[k - 1].offset + 1 if k else None)
    after = restore_task(blob, CODEC, CONFIG, PARTITION)
    assert after.parent_version == before.model_version
    assert model_digest(after) == model_digest(before) == header["model_digest"]
    out = run(after, records[k:])
    assert_continues_like_uninterrupted(after, out, k)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, len(stream())), min_size=2, max_size=4).map(sorted))
def test_several_checkpoints_in_a_row_equal_uninterrupted(cuts: list[int]) -> None:
    records = stream()
    task = fresh_task()
    done = 0
    for cut in cuts:
        run(task, records[done:cut])
        task = restore_task(seal_task(task, CODEC, NAMESPACE), CODEC, CONFIG, PARTITION)
        done = cut
    out = run(task, records[done:])
    assert_continues_like_uninterrupted(task, out, done)


def test_next_offset_is_the_last_processed_offset_plus_one() -> None:
    """The caller resumes from ``next_offset``: replaying what the state holds double-counts."""
    records = stream()
    for k in (1, 7, 8, 100, len(records)):
        task = fresh_task()
        run(task, records[:k])
        assert CODEC.header(seal_task(task, CODEC, NAMESPACE))["next_offset"] == (
            records[k - 1].offset + 1
        )
    k = 150
    task = fresh_task()
    run(task, records[:k])
    blob = seal_task(task, CODEC, NAMESPACE)
    resume_at = CODEC.header(blob)["next_offset"]

    # the right way: skip every record below next_offset, whatever was fetched
    right = restore_task(blob, CODEC, CONFIG, PARTITION)
    fetched = records[k - 40 :]  # the consumer fetched from an older committed offset
    out = run(right, [r for r in fetched if r.offset >= resume_at])
    assert_continues_like_uninterrupted(right, out, k)

    # the wrong way: the 40 records already in the state are processed a second time
    wrong = restore_task(blob, CODEC, CONFIG, PARTITION)
    run(wrong, fetched)
    reference = uninterrupted()[0]
    assert wrong.metrics.counts["records"] == reference.metrics.counts["records"] + 40
    assert wrong.metrics.counts["duplicates"] > reference.metrics.counts["duplicates"]
    assert wrong.snapshot() != reference.snapshot()


def test_restore_rebuilds_what_is_not_checkpointed() -> None:
    task = trained_task()
    again = restore_task(seal_task(task, CODEC, NAMESPACE), CODEC, CONFIG, PARTITION)
    assert again.partition == PARTITION and again.config == CONFIG
    assert again.kind == task.kind == "classification"
    assert again.restored_from is not None
    assert again.restored_from["namespace"] == NAMESPACE
    assert again.parent_version == task.model_version > 0
    assert again.model is not task.model


def tag_feature(x: dict[str, Any]) -> dict[str, Any]:
    """A module-level (hence picklable) feature function, as River's docs use them."""
    return x | {"tagged": 1.0}


def func_model(seed: int = 42) -> Any:
    """A model factory (``module:factory`` spec) whose pipeline holds a Python function."""
    return compose.FuncTransformer(tag_feature) | linear_model.LogisticRegression()


def test_seal_a_task_whose_model_holds_a_function() -> None:
    config = TaskConfig(model=f"{__name__}:func_model", features=FeatureConfig(raw_only=True))
    task = PartitionTask(PARTITION, config)
    observation = Observation(event_id="a", key="k", event_time=at(0), features={"x": 1.0})
    outcome = Outcome(event_id="a", key="k", event_time=at(1), label=True)
    records = [
        InputRecord(PARTITION, i, b"k", EVENTS.encode(e), to_millis(at(2)))
        for i, e in enumerate([observation, outcome])
    ]
    run(task, records)
    again = restore_task(seal_task(task, CODEC, NAMESPACE), CODEC, config, PARTITION)
    assert again.model_version == 1


# -- describe and export ---------------------------------------------------------------------------
def test_describe_reports_the_header_and_the_age() -> None:
    task = trained_task(200)
    blob = seal_task(task, CODEC, NAMESPACE)
    created = datetime.fromisoformat(CODEC.header(blob)["created_at"])
    assert created.tzinfo is not None
    info = describe(blob, CODEC, now=created + timedelta(seconds=90, milliseconds=40))
    assert info == {
        "partition": PARTITION,
        "model_version": task.model_version,
        "parent_version": None,
        "learned": task.metrics.counts["learned"],
        "predictions": task.metrics.counts["predictions"],
        "next_offset": task.next_offset,
        "checkpoint_age_s": 90.0,
        "created_at": created.isoformat(),
        "model_digest": model_digest(task),
        "model": DEFAULT_MODEL,
        "river_version": river.__version__,
        "config_fingerprint": config_fingerprint(CONFIG),
        "champion": "main",
        "models": {
            "main": {
                "version": task.model_version,
                "digest": model_digest(task),
                "spec": DEFAULT_MODEL,
            }
        },
        "bytes": len(blob),
    }
    assert info["learned"] > 0 and info["predictions"] > 0
    assert describe(blob, CODEC, now=created + timedelta(hours=2))["checkpoint_age_s"] == 7200.0
    again = restore_task(blob, CODEC, CONFIG, PARTITION)
    assert describe(seal_task(again, CODEC, NAMESPACE), CODEC)["parent_version"] == (
        task.model_version
    )


def test_describe_of_a_fresh_task_counts_zero() -> None:
    blob = seal_task(fresh_task(), CODEC, NAMESPACE)
    created = datetime.fromisoformat(CODEC.header(blob)["created_at"])
    info = describe(blob, CODEC, now=created)
    assert (info["learned"], info["predictions"], info["next_offset"]) == (0, 0, None)
    assert info["checkpoint_age_s"] == 0.0


def test_describe_does_not_unpickle() -> None:
    info = describe(bomb_blob(), CODEC)
    assert info["partition"] == PARTITION
    assert DETONATIONS == []


def test_export_model_predicts_like_the_task() -> None:
    task = trained_task(250)
    blob = seal_task(task, CODEC, NAMESPACE)
    model = pickle.loads(export_model(blob, CODEC, CONFIG, PARTITION))
    assert type(model) is type(task.model)
    assert state_digest(model) == model_digest(task)
    builder = task.inputs.builder
    observations = [
        (event, record)
        for record in stream()[250:]
        if record.value is not None and record.value[:5] == b"\x00\x00\x00\x00\x01"
        for event in [EVENTS.decode(record.value)]
    ]
    assert len(observations) > 10
    for event, record in observations:
        assert isinstance(event, Observation)
        x = builder.build(event, from_millis(record.timestamp_ms))
        assert model.predict_proba_one(x) == task.model.predict_proba_one(x)
        assert model.predict_one(x) == task.model.predict_one(x)


def test_export_model_refuses_what_restore_refuses() -> None:
    blob = seal_task(trained_task(), CODEC, NAMESPACE)
    with pytest.raises(CheckpointError):
        export_model(blob, CODEC, CONFIG, PARTITION + 1)
    with pytest.raises(CheckpointError):
        export_model(blob, CODEC, TaskConfig(), PARTITION)
    with pytest.raises(CheckpointError):
        export_model(blob[:-1] + bytes([blob[-1] ^ 1]), CODEC, CONFIG, PARTITION)
