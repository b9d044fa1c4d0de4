"""DedupeWindow and LabelMemory: the window equals the obvious ordered-dict window,
forgets the least recently seen id, and survives any checkpoint as it was."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.quality.dedupe import DedupeWindow, LabelMemory


class Reference:
    """The window as first written: an OrderedDict, oldest first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> None:
        if event_id in self.ids:
            self.ids.move_to_end(event_id)
            return
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "discard", "contains", "restore", "save"]),
        st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "", "x\x00y", "é"]),
    ),
    max_size=300,
)


@settings(max_examples=1000, deadline=None)
@given(size=st.integers(min_value=1, max_value=6), ops=OPS)
def test_the_window_equals_the_reference_through_checkpoints(size: int, ops) -> None:
    window, reference = DedupeWindow(size), Reference(size)
    for op, event_id in ops:
        if op == "add":
            window.add(event_id)
            reference.add(event_id)
        elif op == "discard":
            window.discard(event_id)
            reference.ids.pop(event_id, None)
        elif op == "contains":
            assert window.contains(event_id) == (event_id in reference.ids)
        elif op == "restore":  # a new owner restores the checkpoint
            window = pickle.loads(pickle.dumps(window, protocol=5))
        else:  # a checkpoint while the window goes on (the next one builds on it)
            saved = pickle.loads(pickle.dumps(window, protocol=5))
            assert list(saved._ids) == list(reference.ids)
        assert list(window._ids) == list(reference.ids)
        assert len(window) == len(reference.ids)


def test_a_checkpoint_is_one_string_not_an_object_per_id() -> None:
    window = DedupeWindow(100_000)
    for n in range(50_000):
        window.add(f"event-{n}")
    blob = pickle.dumps(window, protocol=5)
    assert len(blob) < 50_000 * (len("event-49999") + 2)  # the ids and a separator each
    again = pickle.loads(blob)
    assert again.contains("event-0") and len(again) == 50_000
    for n in range(60_000, 120_000):  # and it goes on evicting the oldest
        again.add(f"event-{n}")
    assert not again.contains("event-9999") and again.contains("event-10000")


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=5),
            st.one_of(st.booleans(), st.integers(), st.text(max_size=3)),
        ),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=10),
)
def test_a_label_memory_survives_a_checkpoint_as_it_was(
    outcomes: list[tuple[str, Any]], size: int
) -> None:
    """Ids and labels with NULs in them too (then kept as a list of pairs)."""
    memory = LabelMemory(size)
    for event_id, label in outcomes:
        memory.put(event_id, label)
    again = pickle.loads(pickle.dumps(memory, protocol=5))
    assert list(again._labels.items()) == list(memory._labels.items())
    assert again.size == size
    for event_id, label in outcomes:
        assert again.same(event_id, label) == memory.same(event_id, label)


LABEL_OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "put", "same", "restore"]),
        st.sampled_from(["a", "b", "c", "d", "e", "x\x00y"]),
        st.sampled_from([True, False, 1, 1.0, 0.0, -0.0, "1", float("nan"), "n\x00"]),
    ),
    max_size=300,
)


@settings(max_examples=500, deadline=None)
@given(size=st.integers(min_value=1, max_value=5), ops=LABEL_OPS)
def test_the_label_memory_equals_an_ordered_dict_through_checkpoints(size: int, ops) -> None:
    """The reference is the memory as first written: an OrderedDict of tokens, the least
    recently put forgotten first, an id put again moved to the end."""
    memory, reference = LabelMemory(size), OrderedDict[str, str]()
    token = LabelMemory(1)._token
    for op, event_id, label in ops:
        if op == "put":
            memory.put(event_id, label)
            reference.pop(event_id, None)
            reference[event_id] = token(label)
            if len(reference) > size:
                reference.popitem(last=False)
        elif op == "same":
            held = reference.get(event_id)
            assert memory.same(event_id, label) == (None if held is None else held == token(label))
        else:
            memory = pickle.loads(pickle.dumps(memory, protocol=5))
        assert list(memory._labels.items()) == list(reference.items())
    assert len(memory._order) <= 2 * size + 64 + 1


def test_labels_of_another_type_or_value_differ() -> None:
    memory = LabelMemory(10)
    memory.put("a", True)
    memory.put("n", float("nan"))
    assert memory.same("a", True) and not memory.same("a", 1) and not memory.same("a", "True")
    assert not memory.same("a", False) and memory.same("n", float("nan"))
    memory.put("z", 0.0)
    assert not memory.same("z", -0.0)  # equal floats, not the same label text


def test_dedupe_window_contains_add_and_discard() -> None:
    window = DedupeWindow(2)
    assert not window.contains("a")
    window.add("a")
    window.add("b")
    window.add("a")  # refreshes "a"
    window.add("c")  # evicts "b", the least recently added
    assert window.contains("a") and not window.contains("b") and window.contains("c")
    window.discard("a")
    window.discard("zz")  # absent: nothing to do
    assert not window.contains("a") and len(window) == 1


# -- DedupeWindow ----------------------------------------------------------------------------------
def test_dedupe_window_needs_room() -> None:
    with pytest.raises(ValueError):
        DedupeWindow(0)


def test_dedupe_contains_does_not_record() -> None:
    window = DedupeWindow(2)
    assert not window.contains("a")
    assert not window.seen("a")
    assert window.contains("a") and len(window) == 1


def test_dedupe_forgets_the_least_recently_seen() -> None:
    window = DedupeWindow(2)
    assert [window.seen(i) for i in "abac"] == [False, False, True, False]
    # "a" was seen again after "b", so "b" went first
    assert window.contains("a") and not window.contains("b") and window.contains("c")


@given(ids=st.lists(st.sampled_from("abcdefgh"), max_size=60), size=st.integers(1, 5))
def test_dedupe_window_is_bounded_and_exact_within_its_size(ids: list[str], size: int) -> None:
    window = DedupeWindow(size)
    recent: list[str] = []  # a reference LRU
    for event_id in ids:
        assert window.seen(event_id) == (event_id in recent)
        if event_id in recent:
            recent.remove(event_id)
        recent.append(event_id)
        recent = recent[-size:]
        assert len(window) == len(recent) <= size
    assert all(window.contains(i) for i in recent)
