"""Property tests of the codec, the quality rules and the task's batch step (hypothesis),
the harness's own alarms, and a short campaign, so CI runs a slice of ``make fuzz``."""

from __future__ import annotations

import math
import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftline.core.errors import DecodeError
from driftline.core.events.codec import TICK_SCHEMA_ID, EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.ticks import WatermarkTick
from driftline.core.quality.rules import QualityRules
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME, to_millis
from tests.fuzz.harness import FuzzHarness
from tests.fuzz.payloads import ByteSource, _mutate
from tests.fuzz.run import campaign

pytestmark = pytest.mark.fuzz

CODEC = EventCodec()
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.text(min_size=1, max_size=256)
times = st.datetimes(
    min_value=MIN_EVENT_TIME.replace(tzinfo=None),
    max_value=MAX_EVENT_TIME.replace(tzinfo=None) - timedelta(microseconds=1),
    timezones=st.just(UTC),
)
int64 = st.integers(-(2**63), 2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
#: Text Avro can carry (UTF-8: no lone surrogates).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=64)
feature_values = st.one_of(st.none(), st.booleans(), int64, finite, text)
labels = st.one_of(st.booleans(), int64, finite, text)
observations = st.builds(
    Observation,
    event_id=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=256),
    key=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=256),
    event_time=times,
    features=st.dictionaries(
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=128),
        feature_values,
        max_size=12,
    ),
)
outcomes = st.builds(
    Outcome,
    event_id=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=256),
    key=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=256),
    event_time=times,
    label=labels,
)
headers = st.builds(
    lambda magic, schema: struct.pack(">bI", magic, schema),
    st.sampled_from([0, 0, 0, 1, -1]),
    st.sampled_from([1, 2, TICK_SCHEMA_ID, 0, 4, 2**32 - 1]),
)


def decodes_or_refuses(raw: bytes | None) -> Any:
    """Decode ``raw``: an event, or a DecodeError with a kebab-case reason (else it raises)."""
    try:
        return CODEC.decode(raw)
    except DecodeError as exc:
        assert KEBAB.match(exc.reason), exc.reason
        assert isinstance(exc.detail, str)
        return None


# -- the codec -------------------------------------------------------------------------------------
@FAST
@given(st.none() | st.binary(max_size=512) | st.builds(bytes.__add__, headers, st.binary()))
def test_decode_raises_nothing_but_decode_error(raw: bytes | None) -> None:
    decodes_or_refuses(raw)


@FAST
@given(st.one_of(observations, outcomes), st.binary(min_size=1, max_size=64))
def test_decode_of_a_mutated_encoding_raises_nothing_but_decode_error(
    event: Observation | Outcome, edits: bytes
) -> None:
    decodes_or_refuses(_mutate(ByteSource(edits), CODEC.encode(event)))


@FAST
@given(st.one_of(observations, outcomes))
def test_encode_then_decode_gives_the_event_back(event: Observation | Outcome) -> None:
    assert CODEC.decode(CODEC.encode(event)) == event


@FAST
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=256))
def test_tick_round_trip(source: str) -> None:
    tick = WatermarkTick(source=source)
    assert CODEC.decode(CODEC.encode_tick(tick)) == tick


# -- the quality rules -----------------------------------------------------------------------------
rules = st.builds(
    QualityRules,
    max_future_s=st.floats(0, 1e6),
    max_age_s=st.none() | st.floats(0, 1e9),
    feature_bounds=st.dictionaries(
        st.sampled_from(["x", "y", "z"]),
        st.tuples(finite, finite).map(sorted).map(tuple),
        max_size=2,
    ),
    max_features=st.integers(0, 16),
    max_abs_value=st.floats(1.0, 1e300),
    max_string_length=st.integers(0, 100),
    max_record_bytes=st.integers(0, 4096),
)
ingest_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


def is_verdict(verdict: Any) -> bool:
    return verdict is None or (
        isinstance(verdict, tuple)
        and len(verdict) == 2
        and bool(KEBAB.match(verdict[0]))
        and isinstance(verdict[1], str)
    )


@FAST
@given(rules, observations, ingest_times)
def test_an_observation_that_passes_keeps_every_limit(
    quality: QualityRules, obs: Observation, ingest: datetime
) -> None:
    verdict = quality.check_observation(obs, ingest)
    assert is_verdict(verdict)
    if verdict is not None:
        return
    assert quality.check_time(obs.event_time, ingest) is None
    assert len(obs.features) <= quality.max_features
    for name, value in obs.features.items():
        if isinstance(value, str):
            assert len(value) <= quality.max_string_length
        elif isinstance(value, int | float) and not isinstance(value, bool):
            assert abs(value) <= quality.max_abs_value
            low, high = quality.feature_bounds.get(name, (-math.inf, math.inf))
            assert low <= value <= high


@FAST
@given(rules, labels, st.sampled_from(["classification", "regression"]))
def test_a_label_that_passes_suits_the_model(quality: QualityRules, label: Any, kind: Any) -> None:
    verdict = quality.check_label(label, kind)
    assert is_verdict(verdict)
    if verdict is None:
        assert not (kind == "classification" and isinstance(label, float))
        assert not (kind == "regression" and isinstance(label, bool | str))


@FAST
@given(rules, times, ingest_times, st.one_of(st.none(), st.binary(max_size=5000)))
def test_time_and_size_rules(
    quality: QualityRules, when: datetime, ingest: datetime, raw: bytes | None
) -> None:
    verdict = quality.check_time(when, ingest)
    assert is_verdict(verdict)
    ahead = (when - ingest).total_seconds()
    too_old = quality.max_age_s is not None and -ahead > quality.max_age_s
    assert (verdict is not None) == (ahead > quality.max_future_s or too_old)
    size = quality.check_record(raw, to_millis(ingest))
    assert is_verdict(size)
    beyond = not MIN_EVENT_TIME <= ingest < MAX_EVENT_TIME
    too_big = raw is not None and len(raw) > quality.max_record_bytes
    assert (size is not None) == (beyond or too_big)
    assert quality.check_record(None, 2**63 - 1) is not None  # a broker clock past 2100


# -- the task's batch step -------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(["default", "raw", "tight", "regression"]),
    st.lists(st.binary(min_size=256, max_size=2048), min_size=1, max_size=6),
)
def test_every_record_of_every_batch_is_accounted_for(config: str, batches: list[bytes]) -> None:
    harness = FuzzHarness(configs=[config])
    for data in batches:
        harness.run(data)
    failures = [f"{f.stage} [{f.config}] {f.error}\n{f.trace}" for f in harness.stats.failures]
    assert harness.stats.unhandled == harness.stats.mismatches == 0, "\n".join(failures)


def test_the_harness_counts_an_exception_escaping_the_task() -> None:
    harness = FuzzHarness()

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    harness.task.process = broken  # type: ignore[method-assign,assignment]
    harness.run(bytes(64))
    assert harness.stats.unhandled == 1
    assert "task RuntimeError" in next(iter(harness.stats.failure_kinds))


def test_the_harness_notices_a_record_that_vanishes() -> None:
    harness = FuzzHarness()
    task = harness.task
    real = task.process

    def drops_a_dead_letter(records: Any, processed_at: Any) -> Any:
        out = real(records, processed_at)
        if out.dead_letters:
            out.dead_letters.pop()
        else:
            out.predictions.pop()
        return out

    task.process = drops_a_dead_letter  # type: ignore[method-assign]
    harness.run(b"\x05" * 256)  # a tombstone among them: at least one dead letter
    assert harness.stats.mismatches == 1, harness.stats.failure_kinds


def test_a_short_campaign() -> None:
    """20,000 payloads through every configuration: what ``make fuzz`` does, a fiftieth."""
    stats, _ = campaign(20_000, seed=0)
    detail = "\n".join(f"{f.stage} [{f.config}] {f.error}\n{f.trace}" for f in stats.failures)
    assert stats.payloads == stats.records + stats.ticks == 20_000
    assert stats.unhandled == stats.mismatches == 0, detail
    assert stats.predictions and stats.learned and stats.held and stats.duplicates
    assert len(stats.dead_letters) >= 12  # most reasons are reached, not just the easy ones
