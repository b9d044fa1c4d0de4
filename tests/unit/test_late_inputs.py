"""Learning held back by lateness is said loudly (issue 19, defect 1): an alert when most of
a task's recent observations come later than the allowed lateness, another when they no
longer do; the demo summary's first lines; the alert survives a checkpoint and a replay
raises it at the same offset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from driftline.app.summary import warnings
from driftline.app.views import demo_summary
from driftline.core.events.model import Observation
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.partition import PartitionTask
from driftline.core.task.seal import CheckpointCodec
from tests.unit.core.task.test_partition_quality import (
    NOW,
    at,
    contract,
    obs,
    outcome,
    records,
    task,
)


def stream(n_on_time: int, n_late: int, n_again: int) -> list[tuple[Observation, float]]:
    """Observations a second apart: on time, then two minutes late, then on time again."""
    lateness = [0.0] * n_on_time + [120.0] * n_late + [0.0] * n_again
    return [(obs(f"o{i}", i), late) for i, late in enumerate(lateness)]


def late_alerts(t: PartitionTask, items: list) -> list[tuple[str, int]]:
    out = t.process(records(items), NOW)
    return [(a.signal, a.offset) for a in out.alerts if a.kind == "timeliness"]


@pytest.mark.parametrize("policy", ["predict-only", "dead-letter"])
def test_a_stream_gone_late_raises_starved_then_recovered(policy: str) -> None:
    t = task(contract=contract(late_policy=policy))
    signals = late_alerts(t, stream(1000, 400, 1000))
    # 20% of the last 1,000 late at the 200th late one (offset 1199); back to 5% once only
    # 50 of the 400 late ones are left in the window (offset 2349)
    assert signals == [("starved", 1199), ("recovered", 2349)]
    alert = t.process(records([(obs("x", 3000), 0.0)], start=2400), NOW)
    assert alert.alerts == []  # nothing more while the share stays low


def test_learning_late_is_no_starvation() -> None:
    t = task(contract=contract(late_policy="learn"))
    assert late_alerts(t, stream(1000, 1000, 0)) == []


def test_the_watch_is_checkpointed_and_a_replay_alerts_at_the_same_offset() -> None:
    items = stream(1000, 400, 0)
    config_contract = contract(late_policy="predict-only")
    whole = task(contract=config_contract)
    expected = late_alerts(whole, items)
    first = task(contract=config_contract)
    first.process(records(items[:1100]), NOW)
    codec = CheckpointCodec(b"k" * 32)
    again = restore_task(seal_task(first, codec, "test"), codec, first.config, 0)
    out = again.process(records(items[1100:], start=1100), NOW)
    assert [(a.signal, a.offset) for a in out.alerts if a.kind == "timeliness"] == expected


def test_the_labels_of_late_observations_count_as_not_learned() -> None:
    t = task(contract=contract(late_policy="predict-only"))
    late = obs("late", 10)
    t.process(records([(late, 600.0), outcome("late", 20)]), NOW)
    assert t.metrics.counts["late_not_learned"] == 1
    assert t.metrics.counts["learned"] == 0


def test_the_summary_says_it_first() -> None:
    alert = {
        "kind": "timeliness",
        "signal": "starved",
        "partition": 2,
        "offset": 7,
        "subject": "late-inputs",
        "event_time": (at(0) + timedelta(days=3)).isoformat(),
        "statistic": {"late_share": 0.93, "alarm_share": 0.2, "allowed_lateness_s": 7200},
    }
    found = warnings({"learned": 11_721, "late_not_learned": 315_625}, [alert])
    assert found[0].startswith("learning stalled in partition(s) 2: more than 20%")
    assert "315,625 of 327,346 labels (96.4%) were not learned" in found[1]
    console = Console(record=True, width=200)
    summary = {
        "warnings": found,
        **dict.fromkeys(
            ("observations", "predictions", "outcomes", "learned", "pending", "expired"), 0
        ),
        "dead_letters": 0,
        "metrics": {},
        "worker": {"records_per_s": 0, "partitions": []},
        "elapsed_s": 0,
    }
    console.print(demo_summary(summary))
    text = console.export_text()
    assert text.splitlines()[0].startswith("WARNING: learning stalled")
    assert warnings({"learned": 327_346, "late_not_learned": 0}, []) == []


def test_no_watermark_tick_is_written_on_a_topic_of_the_replay_s_clock() -> None:
    """A tick carries the wall clock, a replay's events their schedule: on a busy machine
    a tick moved event time by the producer's lag and expired 96,020 of the demo's
    predictions before their labels."""
    from driftline.adapters.settings import Settings
    from driftline.consumers.runner import worker_config

    broker = Settings(_env_file=None, idle_watermark_s=30)
    assert worker_config(broker).idle_watermark_s == 30
    replay = broker.with_overrides(kafka_timestamps="replay")
    assert worker_config(replay).idle_watermark_s is None
