"""score_faults: caught, missed and false alarms counted once per fault; a perfect
worker passes; a finding of an unknown dimension is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.core.errors import ConfigError
from driftline.core.quality.figures import DIMENSIONS
from driftline.producers.fault_score import score_faults
from driftline.producers.faults import (
    DIMENSION_OF,
    EXPECTED_RULES,
    FAULTS,
    InjectedFault,
    read_truth,
    write_truth,
)
from tests.unit.producers.injected_flights import Run


def row(event_id: str, fault: str, kind: str = "observation") -> InjectedFault:
    return InjectedFault(event_id, kind, fault, DIMENSION_OF[fault], None, "")  # type: ignore[arg-type]


def test_score_counts_caught_missed_and_false_alarms_once(tmp_path: Path):
    truth = [
        row("a", "duplicate"),
        row("b", "unit-mix"),
        row("c", "missing"),
        row("d", "late"),
        row("e", "conflicting-label", "outcome"),
        row("f", "misspelling"),
    ]
    write_truth(truth, tmp_path / "t.jsonl")
    findings = [
        ("a", "observation", "accuracy", "duplicate"),
        ("a", "observation", "accuracy", "duplicate"),  # reported twice: one finding
        ("b", "observation", "consistency", "spelling"),  # the wrong rule: missed
        ("b", "observation", "accuracy", "out-of-range"),  # on a faulted id: no false alarm
        ("c", "observation", "completeness", "missing-imputed"),
        ("e", "outcome", "accuracy", "conflicting-outcome"),
        ("f", "observation", "accuracy", "spelling"),  # the right rule, wrong dimension
        ("x", "observation", "accuracy", "out-of-range"),
        ("x", "observation", "accuracy", "impossible-combination"),  # the same id: one alarm
        ("x", "observation", "accuracy", "out-of-range"),
        ("y", "observation", "completeness", "missing-value"),
    ]
    score = score_faults(read_truth(tmp_path / "t.jsonl"), findings, clean_events=100)
    got = {
        name: (d.injected, d.caught, d.caught_share, d.false_alarms, d.false_share)
        for name, d in score.dimensions.items()
    }
    assert got == {
        "accuracy": (2, 2, 1.0, 1, 0.01),
        "completeness": (1, 1, 1.0, 1, 0.01),
        "consistency": (2, 0, 0.0, 0, 0.0),
        "timeliness": (1, 0, 0.0, 0, 0.0),
    }
    assert score.dimensions["accuracy"].rules == {
        "conflicting-outcome": 1,
        "duplicate": 1,
        "impossible-combination": 1,
        "out-of-range": 2,
        "spelling": 1,
    }
    assert score.faults["duplicate"] == (1, 1) and score.faults["misspelling"] == (1, 0)
    assert not score.passed()
    doc = json.loads(json.dumps(score.to_json()))
    assert set(doc["dimensions"]) == set(DIMENSIONS) and set(doc["faults"]) == set(FAULTS)
    assert doc["dimensions"]["timeliness"]["caught_share"] == 0.0


def test_a_perfect_worker_passes(faulty: Run):
    truth = faulty.injector.truth
    findings = [(r.event_id, r.kind, r.dimension, EXPECTED_RULES[r.fault][-1]) for r in truth]
    findings.append(("clean", "observation", "timeliness", "late"))
    score = score_faults(truth, findings, clean_events=200)
    assert all(d.caught_share == 1.0 for d in score.dimensions.values())
    assert score.passed() and score.dimensions["timeliness"].false_share == 0.005
    assert not score.passed(max_false=0.001)
    empty = score_faults([], [], clean_events=0)
    assert empty.passed() and empty.to_json()["dimensions"]["accuracy"]["caught_share"] is None


def test_a_finding_of_an_unknown_dimension_is_refused():
    with pytest.raises(ConfigError, match="unknown dimension 'accurate'"):
        score_faults([], [("a", "observation", "accurate", "duplicate")], clean_events=1)
