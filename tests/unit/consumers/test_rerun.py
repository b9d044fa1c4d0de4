"""PredictionDigest: a replay's digest depends on the predictions only, not on their
batches or order of arrival."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

from driftline.consumers.rerun import PredictionDigest
from driftline.core.task.partition import PartitionTask, TaskConfig
from tests.unit.core.task.checkpoint_stream import numbered_records as records

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_the_digest_ignores_batches_and_order_but_not_values() -> None:
    task = PartitionTask(0, TaskConfig())
    predictions = task.process(records(30), T0).predictions
    whole = PredictionDigest()
    whole.add(predictions)
    shuffled = list(predictions)
    random.Random(3).shuffle(shuffled)
    pieces = PredictionDigest()
    for i in range(0, 30, 7):
        pieces.add(shuffled[i : i + 7])
    assert pieces.hexdigest() == whole.hexdigest()
    changed = PredictionDigest()
    first = predictions[0]
    nudged = {k: v + 1e-12 for k, v in (first.probabilities or {}).items()}
    changed.add([replace(first, probabilities=nudged), *predictions[1:]])
    assert changed.hexdigest() != whole.hexdigest()  # the stored floats, to the last bit
    other_config = PredictionDigest()
    other_config.add([replace(p, config="f" * 16) for p in predictions])
    assert other_config.hexdigest() != whole.hexdigest()
