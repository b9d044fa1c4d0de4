"""config_fingerprint: every prediction carries its configuration's, equal
configurations have the same one, and a restored task keeps it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.task.seal import CheckpointCodec
from tests.unit.core.task.checkpoint_stream import CONFIG
from tests.unit.core.task.checkpoint_stream import numbered_records as records

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_each_prediction_carries_the_fingerprint_of_its_config() -> None:
    config = TaskConfig()
    task = PartitionTask(0, config)
    out = task.process(records(5), T0)
    assert len(out.predictions) == 5
    assert {p.config for p in out.predictions} == {config_fingerprint(config)}
    other = replace(config, pending_ttl_s=config.pending_ttl_s + 1)
    assert config_fingerprint(other) != config_fingerprint(config)
    codec = CheckpointCodec(b"k" * 32)
    back = restore_task(seal_task(task, codec, "t"), codec, config, 0)
    assert back.fingerprint == task.fingerprint


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
