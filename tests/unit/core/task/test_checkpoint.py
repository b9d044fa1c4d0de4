"""Checkpoints: the sealed blob, the task it holds, the digest, and the two stores.

Pure unit tests: no Kafka, no Redis server, no clock, no sleep. The Redis store runs
against :class:`FakeRedis`, a dict standing in for a server (a fake, not a Redis).
"""

from __future__ import annotations

import fnmatch
import os
import pickle
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import river
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import compose, linear_model, preprocessing

from driftline.adapters.checkpoints.stores import DirectoryCheckpointStore, RedisCheckpointStore
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL, build_model
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
from driftline.core.task.seal import (
    CheckpointCodec,
    CheckpointError,
)
from driftline.core.times import from_millis, to_millis

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
CODEC = CheckpointCodec(KEY)
EVENTS = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROCESSED_AT = datetime(2024, 6, 1, tzinfo=UTC)
PARTITION = 3
NAMESPACE = "ckpt"
#: The default model and engineered features (calendar, lateness, label history), a TTL
#: short enough that some pending entries and early outcomes expire, and a dedupe window
#: smaller than the stream so ids are evicted from it.
CONFIG = TaskConfig(
    model=DEFAULT_MODEL,
    features=FeatureConfig(history_groups=("key", "carrier"), history_alpha=0.3),
    pending_ttl_s=1800.0,
    dedupe_size=150,
    rolling_window=50,
)


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
def stream() -> tuple[InputRecord, ...]:
    """~300 records of one partition: observations and outcomes in arrival order.

    Some outcomes arrive before their observation (a few of those never get one), some
    observations stay unlabelled (they expire), some labels arrive after the TTL, some
    records are sent twice, and one record is not an event at all. Offsets have gaps, as
    transaction markers leave them.
    """
    rng = random.Random(20240101)
    arrivals: list[tuple[float, int, bytes | None, bytes]] = []

    def send(arrival: float, event: Event) -> None:
        arrivals.append((arrival, len(arrivals), event.key.encode(), EVENTS.encode(event)))

    for i in range(155):
        key = rng.choice(["EWR", "JFK", "LGA"])
        carrier = rng.choice(["UA", "DL", "B6", "AA"])
        distance = rng.uniform(100, 2500)
        features: dict[str, Any] = {
            "distance": distance,
            "carrier": carrier,
            "temp": None if rng.random() < 0.2 else rng.uniform(-10, 35),
            "red": rng.random() < 0.5,
        }
        label = (distance > 1200) != (rng.random() < 0.15)
        t = 60.0 * i
        observation = Observation(event_id=f"f{i}", key=key, event_time=at(t), features=features)
        seen = t + rng.uniform(0, 20)
        fate = rng.random()
        if i % 25 == 7:  # an outcome whose observation never comes: it expires
            send(seen, Outcome(event_id=f"ghost{i}", key=key, event_time=at(t), label=True))
        if fate < 0.15:  # the outcome overtakes its observation
            early = Outcome(event_id=f"f{i}", key=key, event_time=at(t + 5), label=label)
            send(seen - 2, early)
            send(seen, observation)
        elif fate < 0.25:  # never labelled: expires after the TTL
            send(seen, observation)
        elif fate < 0.30:  # labelled after the TTL: the observation has expired
            send(seen, observation)
            late_t = t + 2400
            send(late_t + 1, Outcome(event_id=f"f{i}", key=key, event_time=at(late_t), label=label))
        else:
            send(seen, observation)
            out_t = t + rng.uniform(30, 900)
            outcome = Outcome(event_id=f"f{i}", key=key, event_time=at(out_t), label=label)
            send(out_t + rng.uniform(0, 30), outcome)
            if rng.random() < 0.08:  # the outcome is sent twice
                send(out_t + rng.uniform(45, 1500), outcome)
        if rng.random() < 0.08:  # the observation is sent twice
            send(seen + rng.uniform(3, 1500), observation)
    arrivals.append((3000.5, len(arrivals), b"EWR", b"\x00\x00\x00\x00\x09garbage"))

    records = []
    offset = 1000
    for arrival, _, key_bytes, value in sorted(arrivals):
        records.append(InputRecord(PARTITION, offset, key_bytes, value, to_millis(at(arrival))))
        offset += 2 if offset % 7 == 0 else 1
    return tuple(records)


def run(task: PartitionTask, records: Sequence[InputRecord]) -> TaskOutput:
    return task.process(records, PROCESSED_AT)


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


def fresh_task() -> PartitionTask:
    return PartitionTask(PARTITION, CONFIG)


def trained_task(n: int = 120) -> PartitionTask:
    task = fresh_task()
    run(task, stream()[:n])
    return task


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


# -- the codec -------------------------------------------------------------------------------------
def test_seal_then_open_round_trips() -> None:
    header = {"partition": 3, "next_offset": 10, "nested": {"b": [1, 2.5, None]}, "text": "é"}
    payload = bytes(range(256)) * 3
    assert CODEC.open(CODEC.seal(header, payload)) == (header, payload)
    assert CODEC.header(CODEC.seal(header, payload)) == header
    assert CODEC.open(CODEC.seal({}, b"")) == ({}, b"")


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


@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused(blob: bytes) -> None:
    with pytest.raises(CheckpointError):
        CODEC.open(blob)
    with pytest.raises(CheckpointError):
        CODEC.open(b"DLCK" + blob)


@given(key=st.binary(max_size=15))
def test_a_key_shorter_than_16_bytes_is_refused(key: bytes) -> None:
    with pytest.raises(CheckpointError, match="at least 16 bytes"):
        CheckpointCodec(key)


def test_a_16_byte_key_is_enough() -> None:
    codec = CheckpointCodec(b"s" * 16)
    assert codec.open(codec.seal({"a": 1}, b"x")) == ({"a": 1}, b"x")


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


def test_config_fingerprint_is_stable_for_equal_configs() -> None:
    same = TaskConfig(
        model=DEFAULT_MODEL,
        features=FeatureConfig(history_groups=("key", "carrier"), history_alpha=0.3),
        pending_ttl_s=1800.0,
        dedupe_size=150,
        rolling_window=50,
    )
    assert same == CONFIG
    assert config_fingerprint(same) == config_fingerprint(CONFIG)


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


# -- state_digest ----------------------------------------------------------------------------------
def test_digest_is_equal_for_a_pickled_copy() -> None:
    task = trained_task(200)
    assert state_digest(pickle.loads(pickle.dumps(task.model))) == model_digest(task)
    state = task.state
    for name, value in {
        "pending": state.pending,
        "early": state.early,
        "seen_observations": state.admission.seen_observations,
        "metrics": state.metrics,
        "history": state.history,
    }.items():
        assert state_digest(pickle.loads(pickle.dumps(value))) == state_digest(value), name


def test_digest_changes_when_the_model_learns() -> None:
    model = build_model(DEFAULT_MODEL, 42)
    digests = {state_digest(model)}
    for i, x in enumerate([{"d": 1.0, "c": "UA"}, {"d": 2.0, "c": "DL"}, {"d": 1.0, "c": "UA"}]):
        model.learn_one(x, i % 2 == 0)
        digests.add(state_digest(model))
    assert len(digests) == 4
    task = trained_task(100)
    before = model_digest(task)
    run(task, stream()[100:160])
    assert model_digest(task) != before


def test_digest_ignores_identity_sharing() -> None:
    name = "distance"
    copy_of_name = "".join(["dist", "ance"])
    assert copy_of_name == name and copy_of_name is not name
    shared = {"weights": {name: 1.5}, "counts": {name: 2}}
    separate = {"weights": {name: 1.5}, "counts": {copy_of_name: 2}}
    assert pickle.dumps(shared) != pickle.dumps(separate)  # why pickle bytes are no digest
    assert state_digest(shared) == state_digest(separate)

    row = [1.0, 2.0]
    assert state_digest({"a": row, "b": row}) == state_digest({"a": [1.0, 2.0], "b": [1.0, 2.0]})

    def trained(first: str, second: str) -> Any:
        model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
        model.learn_one({first: 1.0}, True)
        model.learn_one({second: 3.0}, False)
        return model

    assert state_digest(trained(name, name)) == state_digest(trained(name, copy_of_name))


def test_digest_tells_values_apart() -> None:
    pairs = [
        (1, 1.0),
        (True, 1),
        ("1", 1),
        ((1, 2), [1, 2]),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # insertion order is state for a dict
        (0.1 + 0.2, 0.3),
    ]
    for left, right in pairs:
        assert state_digest(left) != state_digest(right), (left, right)
    assert state_digest({3, 1, 2}) == state_digest({2, 3, 1})


def tag_feature(x: dict[str, Any]) -> dict[str, Any]:
    """A module-level (hence picklable) feature function, as River's docs use them."""
    return x | {"tagged": 1.0}


def func_model(seed: int = 42) -> Any:
    """A model factory (``module:factory`` spec) whose pipeline holds a Python function."""
    return compose.FuncTransformer(tag_feature) | linear_model.LogisticRegression()


def test_a_function_holding_model_pickles_fine() -> None:
    model = func_model()
    model.learn_one({"x": 1.0}, True)
    again = pickle.loads(pickle.dumps(model))
    assert again.predict_proba_one({"x": 1.0}) == model.predict_proba_one({"x": 1.0})


def test_digest_of_a_model_holding_a_function() -> None:
    model = func_model()
    model.learn_one({"x": 1.0}, True)
    assert state_digest(model) == state_digest(pickle.loads(pickle.dumps(model)))


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


# -- DirectoryCheckpointStore ----------------------------------------------------------------------
def test_directory_store_save_load_all(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path / "nested" / "dir")
    assert store.load(0) is None
    assert store.all() == {}
    store.save(2, b"two")
    store.save(10, b"ten")
    store.save(0, b"")
    assert store.load(2) == b"two" and store.load(10) == b"ten" and store.load(0) == b""
    assert store.all() == {0: b"", 2: b"two", 10: b"ten"}
    store.save(2, b"two again")
    assert store.load(2) == b"two again"
    assert sorted(p.name for p in store.directory.iterdir()) == [
        "partition-0.ckpt",
        "partition-10.ckpt",
        "partition-2.ckpt",
    ]


def test_directory_store_keeps_a_real_checkpoint(tmp_path: Path) -> None:
    task = trained_task()
    store = DirectoryCheckpointStore(tmp_path)
    store.save(PARTITION, seal_task(task, CODEC, NAMESPACE))
    again = restore_task(DirectoryCheckpointStore(tmp_path).load(PARTITION), CODEC, CONFIG, 3)
    assert model_digest(again) == model_digest(task)


def test_directory_store_never_shows_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(1, b"old blob")
    new = b"new blob " * 1000
    real_replace = os.replace
    seen: list[tuple[bytes, bytes]] = []

    def checking_replace(src: Any, dst: Any) -> None:
        seen.append((Path(dst).read_bytes(), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", checking_replace)
    store.save(1, new)
    assert seen == [(b"old blob", new)]  # the target is whole until the rename
    assert store.load(1) == new


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_directory_store_failed_save_keeps_the_previous_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(1, b"previous")
    store.save(2, b"other")

    def boom(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        store.save(1, b"half-written replacement")
    monkeypatch.undo()
    assert store.load(1) == b"previous"
    assert store.all() == {1: b"previous", 2: b"other"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partition-1.ckpt", "partition-2.ckpt"]
    assert list(tmp_path.glob("*.tmp")) == [] and list(tmp_path.glob(".*")) == []


def test_directory_store_all_ignores_temp_files(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(4, b"four")
    (tmp_path / ".partition-abc123.tmp").write_bytes(b"half")  # a crash mid-save leaves this
    (tmp_path / "partition-5.ckpt.tmp").write_bytes(b"half")
    (tmp_path / "notes.txt").write_bytes(b"x")
    assert store.all() == {4: b"four"}
    assert store.load(5) is None


# -- RedisCheckpointStore, against a fake ----------------------------------------------------------
class FakeRedis:
    """FAKE Redis client: a dict of bytes keys, with only what the store calls.

    Like redis-py without ``decode_responses``: keys come back as bytes, values as bytes,
    ``scan_iter`` filters with Redis's glob (``fnmatch`` is close enough for ``ns:x:*``).
    """

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.calls: list[str] = []

    @staticmethod
    def _bytes(value: str | bytes) -> bytes:
        return value.encode() if isinstance(value, str) else bytes(value)

    def get(self, key: str | bytes) -> bytes | None:
        self.calls.append("get")
        return self.data.get(self._bytes(key))

    def set(self, key: str | bytes, value: bytes) -> bool:
        self.calls.append("set")
        self.data[self._bytes(key)] = bytes(value)
        return True

    def scan_iter(self, match: str | None = None, count: int | None = None) -> Iterator[bytes]:
        self.calls.append("scan_iter")
        pattern = self._bytes(match) if match is not None else b"*"
        return iter([k for k in list(self.data) if fnmatch.fnmatchcase(k, pattern)])

    def mget(self, keys: Sequence[str | bytes]) -> list[bytes | None]:
        self.calls.append("mget")
        return [self.data.get(self._bytes(k)) for k in keys]


def test_redis_store_names_keys_by_namespace_and_partition() -> None:
    fake = FakeRedis()
    store = RedisCheckpointStore(fake, "demo")
    store.save(3, b"blob three")
    assert fake.data == {b"demo:checkpoint:3": b"blob three"}
    assert store.load(3) == b"blob three"
    assert store.load(4) is None
    store.save(3, b"replaced")
    assert fake.data == {b"demo:checkpoint:3": b"replaced"}
    assert fake.calls.count("set") == 2  # one SET per save: atomic


def test_redis_store_all_maps_partitions() -> None:
    fake = FakeRedis()
    store = RedisCheckpointStore(fake, "demo")
    assert store.all() == {}
    assert "mget" not in fake.calls  # no MGET with no keys
    for partition in (0, 2, 10, 11):
        store.save(partition, f"p{partition}".encode())
    fake.data[b"other:checkpoint:1"] = b"another namespace"
    fake.data[b"demo2:checkpoint:1"] = b"a namespace sharing the prefix"
    fake.data[b"demo:prediction:EWR"] = b"not a checkpoint"
    fake.data[b"demo:metrics"] = b"not a checkpoint"
    assert store.all() == {0: b"p0", 2: b"p2", 10: b"p10", 11: b"p11"}
    assert RedisCheckpointStore(fake, "other").all() == {1: b"another namespace"}


def test_redis_store_all_skips_a_key_deleted_between_scan_and_mget() -> None:
    class Vanishing(FakeRedis):
        """FAKE: partition 1 is deleted after SCAN saw it."""

        def mget(self, keys: Sequence[str | bytes]) -> list[bytes | None]:
            self.data.pop(b"demo:checkpoint:1", None)
            return super().mget(keys)

    fake = Vanishing()
    store = RedisCheckpointStore(fake, "demo")
    store.save(1, b"one")
    store.save(2, b"two")
    assert store.all() == {2: b"two"}


def test_redis_store_keeps_a_real_checkpoint() -> None:
    task = trained_task()
    store = RedisCheckpointStore(FakeRedis(), NAMESPACE)
    store.save(PARTITION, seal_task(task, CODEC, NAMESPACE))
    [(partition, blob)] = store.all().items()
    again = restore_task(blob, CODEC, CONFIG, partition)
    assert model_digest(again) == model_digest(task)


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
    builder = task.features
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
