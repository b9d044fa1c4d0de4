"""driftline.consumers.stats: the worker's running totals."""

from __future__ import annotations

from driftline.consumers.stats import WorkerStats


def test_a_partition_let_go_leaves_no_figure_behind() -> None:
    stats = WorkerStats()
    stats.lags, stats.checkpoint_sizes = {0: 5, 1: 7}, {0: 100, 1: 200}
    stats.forget(1)
    stats.forget(9)  # never held
    assert stats.lags == {0: 5} and stats.checkpoint_sizes == {0: 100}


def test_the_summary_says_how_much_was_done_and_how_fast() -> None:
    stats = WorkerStats(started=0.0)
    stats.records, stats.predictions, stats.checkpoint_s = 10, 4, 0.12345
    summary = stats.to_dict()
    assert summary["records"] == 10 and summary["predictions"] == 4
    assert summary["checkpoint_s"] == 0.123
    assert {"elapsed_s", "records_per_s", "redis_refused", "ticks_written"} <= set(summary)
