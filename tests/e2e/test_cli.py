"""The driftline command as a user types it, against the real services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.consumers.tasks import TaskStore
from driftline.core.task.partition import TaskConfig
from driftline.core.task.seal import CheckpointCodec
from driftline.stack.processes import start_ticks
from tests.conftest import TEST_CHECKPOINT_KEY

pytestmark = pytest.mark.e2e

DRIFTLINE = [sys.executable, "-m", "driftline"]


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*DRIFTLINE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    values |= {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "COLUMNS": "200",
    }
    return values


def test_produce_flights_then_tail_them_back(env: dict[str, str]):
    done = run(
        [
            "produce",
            "flights",
            "--limit",
            "400",
            "--partitions",
            "2",
            "--delay-mean",
            "120",
            "--seed",
            "7",
            "--json",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    assert summary["observations"] == 400
    assert 350 < summary["outcomes"] <= 400  # cancelled and diverted flights have none
    assert summary["published"] == summary["observations"] + summary["outcomes"]
    assert summary["out_of_order"] > 0
    assert set(summary["partitions"]) <= {"0", "1"}

    tail = run(["events", "tail", "--from-beginning", "--json"], env)
    assert tail.returncode == 0, tail.stderr
    rows = [json.loads(line) for line in tail.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == summary["published"]
    kinds = {row["kind"] for row in rows}
    assert kinds == {"observation", "outcome"}
    first = next(r for r in rows if r["event_id"].startswith("20130101-UA1545-EWR"))
    assert first["key"] == "EWR"

    again = run(
        [
            "produce",
            "flights",
            "--limit",
            "400",
            "--seed",
            "7",
            "--json",
            "--delay-mean",
            "120",
            "--namespace",
            env["DRIFTLINE_NAMESPACE"] + "-b",
            "--partitions",
            "2",
        ],
        env,
    )
    assert again.returncode == 0, again.stderr
    repeat = last_json(again.stdout)
    # The same seed gives the same stream: same counts and same disorder.
    assert repeat["out_of_order"] == summary["out_of_order"]
    assert repeat["partitions"] == summary["partitions"]


def test_produce_csv_with_fixed_outcome_delay(env: dict[str, str], tmp_path: Path):
    table = tmp_path / "sensors.csv"
    table.write_text(
        "id,device,ts,temp,ok\n"
        "a1,d1,2024-05-01T10:00:00Z,21.5,true\n"
        "a2,d2,2024-05-01T10:00:05Z,,false\n"
        "a3,d1,2024-05-01T10:00:09Z,22.0,\n"
    )
    done = run(
        [
            "produce",
            "csv",
            str(table),
            "--key",
            "device",
            "--time",
            "ts",
            "--label",
            "ok",
            "--event-id",
            "id",
            "--outcome-delay",
            "60",
            "--json",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    assert (summary["observations"], summary["outcomes"]) == (3, 2)  # a3 has no label


def test_bad_options_and_missing_services_give_one_clear_line(env: dict[str, str], tmp_path: Path):
    table = tmp_path / "t.csv"
    table.write_text("device,ts\nd1,2024-05-01T10:00:00Z\n")
    done = run(["produce", "csv", str(table), "--key", "nope", "--time", "ts"], env)
    assert done.returncode == 2
    assert "error:" in done.stderr and "nope" in done.stderr
    assert "Traceback" not in done.stderr

    no_services = {
        k: v
        for k, v in env.items()
        if k not in ("DRIFTLINE_KAFKA_BOOTSTRAP", "DRIFTLINE_REDIS_URL")
    }
    done = run(["produce", "flights", "--limit", "5"], no_services)
    assert done.returncode == 4  # a service unreachable, not a usage error
    assert "driftline stack up" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_masks_secrets(env: dict[str, str]):
    secret_env = env | {
        "DRIFTLINE_REDIS_URL": "redis://app:s3cr3t-pw@cache.internal:6379/0",
        "DRIFTLINE_KAFKA_SASL_PASSWORD": "kafka-s3cr3t",
    }
    done = run(["config"], secret_env)
    assert done.returncode == 0, done.stderr
    assert "s3cr3t" not in done.stdout + done.stderr
    shown = last_json(done.stdout)
    assert shown["redis"]["url"] == "redis://app:***@cache.internal:6379/0"
    assert shown["kafka"]["sasl_password"] == "***"


def test_stack_up_status_down_with_three_brokers(tmp_path: Path, services: Endpoints):
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_STACK_HOME": str(tmp_path / "stack3"), "DRIFTLINE_KAFKA_HEAP": "384m"}
    try:
        up = run(["stack", "up", "--brokers", "3", "--json"], env)
        assert up.returncode == 0, up.stderr
        status = last_json(up.stdout)
        assert status["running"] and len(status["bootstrap_servers"].split(",")) == 3
        again = run(["stack", "up", "--brokers", "3", "--json"], env)  # idempotent
        assert [b["pid"] for b in last_json(again.stdout)["brokers"]] == [
            b["pid"] for b in status["brokers"]
        ]
        shown = run(["stack", "status", "--json"], env)
        assert shown.returncode == 0
        assert last_json(shown.stdout)["redis_url"] == status["redis_url"]

        # Replicated topics on three brokers: publish and read back through the command.
        cluster = env | {"DRIFTLINE_NAMESPACE": "three"}
        produced = run(["produce", "flights", "--limit", "50", "--json"], cluster)
        assert produced.returncode == 0, produced.stderr
        assert last_json(produced.stdout)["observations"] == 50
    finally:
        down = run(["stack", "down", "--purge"], env)
    assert down.returncode == 0, down.stderr
    for broker in status["brokers"]:  # gone (a zombie awaiting its reaper counts as gone)
        assert start_ticks(broker["pid"]) is None
    gone = run(["stack", "status", "--json"], env)
    assert gone.returncode == 1
    assert last_json(gone.stdout)["running"] is False


def test_model_history_lists_the_kept_checkpoints(env: dict[str, str], services: Endpoints):
    client = make_redis(services.redis_url)
    codec = CheckpointCodec(TEST_CHECKPOINT_KEY.encode())
    namespace = env["DRIFTLINE_NAMESPACE"]
    kept = TaskStore(RedisCheckpointStore(client, namespace), codec, TaskConfig(), namespace)
    task = kept.fresh(0)
    for offset in (100, 200, 300):
        task.next_offset = offset
        kept.save(task)
    # Partition 1's latest checkpoint was saved with no history kept (as before it was).
    latest_only = RedisCheckpointStore(client, namespace, history=1)
    task = TaskStore(latest_only, codec, TaskConfig(), namespace).fresh(1)
    task.next_offset = 50
    TaskStore(latest_only, codec, TaskConfig(), namespace).save(task)
    client.close()

    done = run(["model", "history", "--json"], env)
    assert done.returncode == 0, done.stderr
    rows = last_json(done.stdout)["checkpoints"]
    assert [(r["id"], r["latest"], r["kept"]) for r in rows] == [
        ("0@300", True, True),
        ("0@200", False, True),
        ("0@100", False, True),
        ("1@50", True, False),
    ]
    assert [r["next_offset"] for r in rows] == [300, 200, 100, 50]
    assert all(len(r["model_digest"]) == 16 and "created_at" in r for r in rows)

    table = run(["model", "history", "--partition", "0"], env)
    assert table.returncode == 0, table.stderr
    assert "0@200" in table.stdout and "1@50" not in table.stdout
    none = run(["model", "history", "--partition", "5", "--json"], env)
    assert none.returncode == 0 and last_json(none.stdout) == {"checkpoints": []}

    tampered = env | {"DRIFTLINE_CHECKPOINT_KEY": "another-key-of-32-bytes-0123456789"}
    refused = run(["model", "history"], tampered)
    assert refused.returncode == 3 and "HMAC" in refused.stderr  # a refused checkpoint
    assert "Traceback" not in refused.stderr
