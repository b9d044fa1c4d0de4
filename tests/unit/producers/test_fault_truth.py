"""The ground truth of injected faults round-trips as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.core.errors import ConfigError
from driftline.producers.faults import read_truth
from tests.unit.producers.injected_flights import Run


# -- the ground truth and the score ----------------------------------------------------------------
def test_the_truth_round_trips_as_json_lines(faulty: Run, tmp_path: Path):
    path = tmp_path / "truth.jsonl"
    faulty.injector.write_truth(path)
    assert read_truth(path) == faulty.injector.truth
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"event_id", "kind", "fault", "dimension", "feature", "detail"}
    path.write_text(path.read_text() + '{"event_id": "x"}\n')
    with pytest.raises(ConfigError, match=r"truth.jsonl:\d+: not a ground-truth row"):
        read_truth(path)
