"""``driftline consume --processes 2``: two worker processes in one consumer group, from one
command, over the real Kafka and Redis."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli import last_json, run
from tests.e2e.test_worker_cli import env  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


def test_two_processes_share_the_partitions_and_merge_their_summaries(
    env: dict[str, str],  # noqa: F811
) -> None:
    produced = run(
        ["produce", "flights", "--limit", "800", "--key-by", "tailnum", "--partitions", "2",
         "--json"],
        env,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    published = last_json(produced.stdout)["published"]

    consumed = run(["consume", "--processes", "2", "--until-idle", "3", "--json"], env)
    assert consumed.returncode == 0, consumed.stderr
    summary = last_json(consumed.stdout)
    assert summary["processes"] == 2
    assert summary["records"] == published and summary["predictions"] == 800
    assert summary["partitions"] == [0, 1]
    assert "consuming with 2 worker processes" in consumed.stderr
