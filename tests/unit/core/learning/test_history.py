"""LabelHistory: recent label rates by segment, changed only by a learned label, bounded
in slots and labels (least recently used first, the same through a checkpoint), and
as of an event time unchanged by later outcomes."""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.learning.history import DEFAULT_MAX_LABELS, DEFAULT_MAX_SLOTS, LabelHistory
from driftline.core.task.digest import state_digest


# -- recent label rates ----------------------------------------------------------------------------
def test_history_changes_only_on_update() -> None:
    history = LabelHistory(alpha=0.5, groups=("key", "carrier"))
    ua = history.groups_of("EWR", {"carrier": "UA"})
    assert ua == {"key": "EWR", "carrier": "UA"}
    assert history.features(ua) == {}
    # reading or computing groups, for any number of observations, changes nothing
    for _ in range(3):
        history.groups_of("EWR", {"carrier": "UA"})
        history.features(ua)
    assert history.features(ua) == {}
    history.update(ua, True)
    snapshot = history.features(ua)
    assert snapshot == {"recent_label[key]": 1.0, "recent_label[carrier]": 1.0}
    history.features(history.groups_of("JFK", {"carrier": "UA"}))
    assert history.features(ua) == snapshot


def test_history_is_an_exponential_mean_with_alpha() -> None:
    history = LabelHistory(alpha=0.25, groups=("key",))
    groups = {"key": "k"}
    expected = None
    for y in [1.0, 0.0, 0.0, 4.0, True, False]:
        history.update(groups, y)
        expected = float(y) if expected is None else expected + 0.25 * (float(y) - expected)
        assert history.features(groups)["recent_label[key]"] == pytest.approx(expected)


def test_history_groups_are_separate() -> None:
    history = LabelHistory(alpha=1.0, groups=("key", "carrier"))
    history.update({"key": "EWR", "carrier": "UA"}, True)
    history.update({"key": "JFK", "carrier": "DL"}, False)
    assert history.features({"key": "EWR", "carrier": "DL"}) == {
        "recent_label[key]": 1.0,
        "recent_label[carrier]": 0.0,
    }


def test_history_skips_missing_segments_and_text_labels() -> None:
    history = LabelHistory(alpha=0.5, groups=("key", "carrier", "origin"))
    groups = history.groups_of("k", {"carrier": None, "origin": 7})
    assert groups == {"key": "k", "origin": "7"}
    history.update(groups, "late")
    assert history.features(groups) == {}


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.01, math.nan])
def test_history_alpha_must_be_in_zero_one(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        LabelHistory(alpha=alpha)


T0 = datetime(2024, 1, 1, tzinfo=UTC)


# -- label history: least recently used, deterministic, through checkpoints ------------------
def test_a_slot_read_for_a_prediction_outlives_one_only_learned_before() -> None:
    history = LabelHistory(alpha=0.5, groups=("key",), max_slots=3)
    for plane in ("A", "B", "C"):
        history.update({"key": plane}, True, event_time=T0)
    assert history.features({"key": "A"}, as_of=T0)  # A is used: B is now the oldest
    history.update({"key": "D"}, False, event_time=T0)
    kept = {p for p in "ABCD" if history.features({"key": p}, as_of=T0)}
    assert kept == {"A", "C", "D"} and history.evicted == 1


def test_the_label_budget_evicts_the_least_recently_used_slots() -> None:
    history = LabelHistory(alpha=0.5, groups=("key",), max_labels=100)
    for i in range(1000):
        history.update({"key": f"k{i // 20}"}, i % 2, event_time=T0 + timedelta(seconds=i))
    assert history.labels <= 100
    assert history.labels == sum(len(times) for times, _ in history._slots.values())
    assert list(history._slots)[-1] == ("key", "k49")  # the last one used
    assert not history.features({"key": "k0"})  # long evicted


def test_default_bounds_leave_the_demo_s_history_whole() -> None:
    """The flights demo with the whole year in one partition: 4,389 slots (4,043 planes,
    223 routes, 104 destinations, 16 carriers, 3 origins) holding 885,603 labels."""
    assert DEFAULT_MAX_SLOTS >= 10 * 4_389 and DEFAULT_MAX_LABELS >= 2 * 885_603


def _stream(n: int, keys: int, seed: int = 7) -> Iterator[tuple[str, dict[str, str], int]]:
    """Reads and updates over a few hundred keys in an order that revisits some."""
    state = seed
    for i in range(n):
        state = (state * 1103515245 + 12345) % 2**31
        key = f"k{state % keys}"
        yield ("read" if i % 3 == 0 else "learn"), {"key": key, "carrier": key[-1]}, i


def _play(history: LabelHistory, steps: Iterator[tuple[str, dict[str, str], int]]) -> None:
    for what, groups, i in steps:
        when = T0 + timedelta(seconds=i)
        if what == "read":
            history.features(groups, as_of=when)
        else:
            history.update(groups, i % 2, event_time=when)


def test_eviction_replays_identically_through_a_checkpoint() -> None:
    steps = list(_stream(6000, keys=300))
    straight = LabelHistory(0.2, ("key", "carrier"), max_slots=120, max_labels=2000)
    _play(straight, iter(steps))
    resumed = LabelHistory(0.2, ("key", "carrier"), max_slots=120, max_labels=2000)
    _play(resumed, iter(steps[:2500]))
    resumed = pickle.loads(pickle.dumps(resumed, protocol=5))
    _play(resumed, iter(steps[2500:]))
    assert straight.evicted > 1000 and resumed.evicted == straight.evicted
    assert list(resumed._slots) == list(straight._slots)  # the same order of use
    assert state_digest(resumed) == state_digest(straight)


def test_a_history_pickled_before_it_was_bounded_restores() -> None:
    history = LabelHistory(0.5, ("key",))
    history.update({"key": "a"}, True, event_time=T0)
    old = dict(vars(history))  # as it was: means beside the timed labels, no bounds
    slots = old.pop("_slots")
    for name in ("max_slots", "max_labels", "labels", "evicted"):
        del old[name]
    old |= {"_means": {("key", "a"): 1.0}, "_timed": dict(slots)}
    restored = LabelHistory.__new__(LabelHistory)
    restored.__setstate__(old)
    assert restored.features({"key": "a"}, as_of=T0) == {"recent_label[key]": 1.0}
    assert not hasattr(restored, "_means") and restored.labels == 1
    assert restored.max_slots == DEFAULT_MAX_SLOTS


JUNE_NOON = datetime(2013, 6, 1, 12, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return JUNE_NOON + timedelta(minutes=minutes)


# -- as of an event time: later outcomes change nothing --------------------------------------------


def test_an_outcome_learned_early_is_not_in_an_earlier_observation_s_history() -> None:
    """The 10:40 outcome arrives before the 10:00 observation: its rate ignores it."""
    history = LabelHistory(alpha=0.5, groups=("key", "origin"))
    plane = history.groups_of("N14228", {"origin": "EWR"})
    history.update(plane, False, event_time=at(-120))
    as_known = history.features(plane, as_of=at(0))
    history.update(plane, True, event_time=at(40))  # a later flight's outcome, learned now
    assert (
        history.features(plane, as_of=at(0))
        == as_known
        == {
            "recent_label[key]": 0.0,
            "recent_label[origin]": 0.0,
        }
    )
    assert history.features(plane, as_of=at(40))["recent_label[key]"] == 0.5


@settings(max_examples=200, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.integers(0, 500), st.booleans(), st.sampled_from(["N1", "N2"])),
        min_size=1,
        max_size=60,
    ),
    as_of=st.integers(-10, 510),
    seed=st.integers(0, 2**16),
)
def test_timed_rates_depend_only_on_outcomes_up_to_as_of(
    outcomes: list[tuple[int, bool, str]], as_of: int, seed: int
) -> None:
    """Learned in any order, the rate as of ``t`` is that of a history that saw the same
    outcomes but those after ``t``: the later ones change nothing."""
    shuffled = outcomes[:]
    random.Random(seed).shuffle(shuffled)
    everything = LabelHistory(alpha=0.3, groups=("key", "origin"))
    for minute, label, plane in shuffled:
        everything.update({"key": plane, "origin": "EWR"}, label, event_time=at(minute))

    only_earlier = LabelHistory(alpha=0.3, groups=("key", "origin"))
    for minute, label, plane in shuffled:
        if minute <= as_of:
            only_earlier.update({"key": plane, "origin": "EWR"}, label, event_time=at(minute))

    for plane in ("N1", "N2"):
        groups = {"key": plane, "origin": "EWR"}
        got = everything.features(groups, as_of=at(as_of))
        want = only_earlier.features(groups, as_of=at(as_of))
        assert got == pytest.approx(want)
