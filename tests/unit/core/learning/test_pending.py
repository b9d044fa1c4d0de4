"""PendingStore and EarlyOutcomes: what waits for its outcome (or its observation)
expires on the event-time watermark, in deadline order, within a bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from driftline.core.learning.pending import EarlyOutcomes, PendingEntry, PendingStore

T0 = datetime(2024, 3, 4, 18, 30, tzinfo=UTC)  # a Monday


# -- PendingStore ----------------------------------------------------------------------------------
def entry(event_id: str, seconds: float) -> PendingEntry:
    return PendingEntry(event_id, "k", T0 + timedelta(seconds=seconds), {"x": 1.0}, True, None, 0)


def test_pending_store_is_bounded_by_max_entries() -> None:
    store = PendingStore(ttl=timedelta(hours=1), max_entries=3)
    for i, t in enumerate([50, 10, 40, 30, 20]):
        store.add(entry(f"e{i}", t))
    gone = store.expire(T0 - timedelta(days=1))  # the watermark is far behind: size decides
    assert [e.event_id for e in gone] == ["e1", "e4"]  # the earliest deadlines
    assert len(store) == 3 and all(store.was_expired(e.event_id) for e in gone)


def test_pending_store_bound_skips_resolved_entries() -> None:
    store = PendingStore(ttl=timedelta(hours=1), max_entries=2)
    for i in range(4):
        store.add(entry(f"e{i}", i))
    store.pop("e0")
    gone = store.expire(T0 - timedelta(days=1))
    assert [e.event_id for e in gone] == ["e1"] and len(store) == 2
    assert not store.was_expired("e0")


@given(times=st.lists(st.integers(0, 100), max_size=40), bound=st.integers(0, 10))
def test_pending_store_never_exceeds_its_bound_after_expire(times: list[int], bound: int) -> None:
    store = PendingStore(ttl=timedelta(seconds=10), max_entries=bound)
    for i, t in enumerate(times):
        store.add(entry(str(i), t))
        store.expire(T0)
        assert len(store) <= bound


def test_pending_expiry_is_inclusive_and_in_deadline_order() -> None:
    store = PendingStore(ttl=timedelta(seconds=60))
    for name, t in [("late", 30), ("early", 0), ("mid", 10)]:
        store.add(entry(name, t))
    assert store.expire(T0 + timedelta(seconds=59)) == []
    gone = store.expire(T0 + timedelta(seconds=70))
    assert [e.event_id for e in gone] == ["early", "mid"]
    assert store.pop("late") is not None and store.pop("late") is None


def test_pending_store_remembers_a_bounded_number_of_expired_ids() -> None:
    store = PendingStore(ttl=timedelta(seconds=1), remember=2)
    for i in range(3):
        store.add(entry(str(i), i))
    store.expire(T0 + timedelta(hours=1))
    assert [store.was_expired(str(i)) for i in range(3)] == [False, True, True]


def test_a_re_added_id_expires_on_its_own_deadline() -> None:
    """A redelivery after the dedupe window forgot the id: the stale deadline is skipped."""
    store = PendingStore(ttl=timedelta(seconds=60))
    store.add(entry("a", 0))
    store.pop("a")  # resolved
    store.add(entry("a", 100))  # the same id again, later
    assert store.expire(T0 + timedelta(seconds=61)) == []
    assert "a" in store and not store.was_expired("a")
    assert store.expire(T0 + timedelta(seconds=159)) == []
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=160))] == ["a"]
    assert store.was_expired("a") and len(store) == 0


def test_an_id_re_added_after_expiring_expires_on_its_new_deadline() -> None:
    store = PendingStore(ttl=timedelta(seconds=60))
    store.add(entry("a", 0))
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=60))] == ["a"]
    store.add(entry("a", 100))
    assert store.expire(T0 + timedelta(seconds=100)) == [] and "a" in store
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=160))] == ["a"]


def test_the_bound_evicts_by_the_current_deadlines_of_re_added_ids() -> None:
    store = PendingStore(ttl=timedelta(seconds=60), max_entries=2)
    store.add(entry("a", 0))
    store.pop("a")
    store.add(entry("a", 100))  # its deadline is now the latest
    store.add(entry("b", 10))
    store.add(entry("c", 20))
    gone = store.expire(T0 - timedelta(days=1))  # the watermark is far behind: size decides
    assert [e.event_id for e in gone] == ["b"]
    assert sorted(store._entries) == ["a", "c"]


# -- EarlyOutcomes ---------------------------------------------------------------------------------
def test_early_outcomes_expire_in_deadline_then_arrival_order() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("c", T0 + timedelta(seconds=5), "c")
    early.hold("a", T0, "a")
    early.hold("b", T0, "b")  # same deadline as a, held later
    early.hold("d", T0 + timedelta(seconds=30), "d")
    assert early.expire(T0 + timedelta(seconds=59)) == []
    assert early.expire(T0 + timedelta(seconds=65)) == ["a", "b", "c"]
    assert len(early) == 1 and early.take("d") == "d" and len(early) == 0
    assert early.expire(T0 + timedelta(days=1)) == []


def test_taken_outcomes_do_not_expire() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("a", T0, ("outcome", 1))
    assert early.take("a") == ("outcome", 1)
    assert early.expire(T0 + timedelta(hours=1)) == []


def test_an_outcome_held_again_expires_on_its_own_deadline() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("a", T0, "first")
    assert early.take("a") == "first"
    early.hold("a", T0 + timedelta(seconds=100), "second")
    assert early.expire(T0 + timedelta(seconds=61)) == []
    assert early.expire(T0 + timedelta(seconds=160)) == ["second"]


def test_early_outcomes_are_bounded() -> None:
    early = EarlyOutcomes(ttl=timedelta(hours=1), max_entries=2)
    for i in range(4):
        early.hold(str(i), T0 + timedelta(seconds=i), i)
    assert early.expire(T0) == [0, 1]  # over the bound: the earliest deadlines go
    assert len(early) == 2


NEW_YEAR_2024 = datetime(2024, 1, 1, tzinfo=UTC)


def test_dropping_the_deadlines_of_taken_outcomes_keeps_what_expires_and_when() -> None:
    early = EarlyOutcomes(timedelta(seconds=60))
    for i in range(5000):
        early.hold(f"e{i}", NEW_YEAR_2024 + timedelta(seconds=i % 50), i)
        if i % 10:
            early.take(f"e{i}")
    assert len(early._deadlines) <= 2 * len(early) + 1024
    expected = sorted(range(0, 5000, 10), key=lambda i: (i % 50, i))  # deadline, then arrival
    assert early.expire(NEW_YEAR_2024 + timedelta(seconds=200)) == expected
