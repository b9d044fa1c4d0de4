"""``driftline produce`` over fakes: fault injection and its ground truth, bad options
refused before publishing, and a failed publish reported in one line with the counts
(exit status 4: Kafka did not acknowledge, a later run may succeed)."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.future import Future
from typer.testing import CliRunner

from driftline.core.errors import ConfigError
from driftline.producers.faults import FAULTS, read_truth
from driftline.producers.flights import flight_events
from tests.unit.producers.fake_producer import FakeProducer

#: What ``driftline produce`` makes its producer and prepares its topics with.
CLIENTS = "driftline.adapters.confluent_clients.make_client_producer"
PREPARE = "driftline.app.namespace.prepare_namespace"


# -- the command: one line, exit 4, the counts ----------------------------------------------------
def run_produce(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, producer: FakeProducer, *options: str
) -> int:
    """``driftline produce jsonl`` (6 events of 3 keys) on ``producer``, in-process."""
    from driftline.adapters.endpoints import Endpoints
    from driftline.app import cli
    from driftline.app.cli.services import Services

    rows = [{"id": f"r{i}", "k": "ABC"[i % 3], "t": 1_700_000_000 + i, "x": i} for i in range(6)]
    table = tmp_path / "rows.jsonl"
    table.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env is read
    monkeypatch.setenv("DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS", "4000")
    made: dict[str, Any] = {}

    def make_producer(config: Any, **options: Any) -> FakeProducer:
        made.update(options, request_timeout_ms=config.request_timeout_ms)
        return producer

    # produce imports them when it runs: patched where they are defined
    monkeypatch.setattr(CLIENTS, make_producer)
    monkeypatch.setattr(PREPARE, lambda *a, **k: {})
    monkeypatch.setattr(Services, "endpoints", Endpoints("k:9092", "redis://r:6379/0", "settings"))
    argv = ["driftline", "produce", "jsonl", str(table), "--key", "k", "--time", "t"]
    monkeypatch.setattr(sys, "argv", [*argv, "--event-id", "id", *options])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert made == {"delivery_timeout_ms": 8000, "max_block_ms": 4000, "request_timeout_ms": 4000}
    return int(exited.value.code or 0)


def error_text(stderr: str) -> str:
    """The one line main() printed for the error: the last line of standard error."""
    lines = stderr.strip().splitlines()
    assert [line for line in lines if "error:" in line] == lines[-1:], stderr
    return lines[-1]


def test_produce_fails_with_one_line_the_counts_and_exit_4(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = KafkaTimeoutError("Expiring 2 record(s) for TopicPartition(...): 8004 ms has passed")
    producer = FakeProducer(verdict=lambda r: expired if r.key == b"B" else 0)
    producer.close_error = KafkaTimeoutError("Timeout waiting for future")  # as kafka-python's
    assert run_produce(monkeypatch, tmp_path, producer) == 4
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert error_text(captured.err) == (
        "error: publishing to driftline.events failed: 4 record(s) acknowledged "
        "(partition 0: 4), 2 failed (2 KafkaTimeoutError: Expiring 2 record(s) for "
        "TopicPartition(...): 8004 ms has passed)"
    )
    assert captured.out == ""
    assert producer.flush_timeouts[0] == 12.0  # delivery timeout + request timeout
    assert producer.close_timeouts == [0.0]


def test_produce_json_prints_the_counts_before_failing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    producer = FakeProducer(verdict=lambda r: None if r.key == b"C" else 1)
    assert run_produce(monkeypatch, tmp_path, producer, "--json") == 4
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["acknowledged"] == summary["published"] == 4
    assert summary["partitions"] == {"1": 4}
    assert summary["failed"] == 2
    assert summary["failed_by_reason"] == {"no answer": 2}
    assert summary["error"] in error_text(captured.err)
    assert "Traceback" not in captured.err


def test_produce_stops_at_the_first_failure_within_the_bounds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = NotLeaderForPartitionError("no leader")
    producer = FakeProducer(verdict=lambda r: refused if r.key == b"B" else 0, lagging=True)
    assert run_produce(monkeypatch, tmp_path, producer) == 4
    # A acknowledged; B refused, seen when C was sent: C was waited for, then it stopped
    assert [r.key for r in producer.sent] == [b"A", b"B", b"C"]
    assert producer.flush_timeouts == [4.0]  # one request timeout for the rest in flight
    line = error_text(capsys.readouterr().err)
    assert line.endswith(
        "2 record(s) acknowledged (partition 0: 2), 1 failed (1 [Error 6] "
        "NotLeaderForPartitionError: no leader)"
    )


def test_produce_that_succeeds_reports_no_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    producer = FakeProducer(eager=True)
    assert run_produce(monkeypatch, tmp_path, producer, "--json") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["acknowledged"], summary["failed"]) == (6, 0)
    assert producer.close_timeouts == [10.0]


# -- fault injection through the command, over a fake Kafka ----------------------------------------
class Metadata(NamedTuple):
    topic: str
    partition: int
    offset: int


class AckingProducer:
    """Acknowledges every record at once, in partition 0."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, topic: str, **record: Any) -> Future:
        self.sent.append(record["value"])
        return Future().success(Metadata(topic, 0, len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:

    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(PREPARE, lambda *args, **kwargs: None)
    monkeypatch.setattr(CLIENTS, lambda *args, **kwargs: AckingProducer())
    return CliRunner()


def run_cli(runner: CliRunner, *args: str) -> Any:
    from driftline.app.cli import app

    return runner.invoke(app, ["produce", *args], catch_exceptions=True)


def test_produce_flights_injects_and_writes_the_ground_truth(cli: CliRunner, tmp_path: Path):
    truth = tmp_path / "truth.jsonl"
    args = ["flights", "--limit", "2000", "--inject", "all=0.02", "--inject-seed", "9"]
    done = run_cli(cli, *args, "--ground-truth", str(truth), "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    rows = read_truth(truth)
    kinds = Counter(r.fault for r in rows)
    assert summary["injected"] == {fault: kinds[fault] for fault in FAULTS}
    assert set(summary["injected"]) == set(FAULTS) and sum(summary["injected"].values()) > 200
    added = sum(
        summary["injected"][f] for f in ("duplicate", "near-duplicate", "conflicting-label")
    )
    outcomes = sum(f.outcome is not None for f in flight_events(limit=2000))
    assert summary["published"] == 2000 + outcomes + added
    assert summary["ground_truth"] == str(truth)
    run_cli(cli, *args, "--ground-truth", str(tmp_path / "again.jsonl"), "--json")
    assert read_truth(tmp_path / "again.jsonl") == rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inject", "duplicate=0.1"], "--inject needs --ground-truth"),
        (["--ground-truth", "t.jsonl"], "go with --inject"),
        (["--inject", "dupe=0.1", "--ground-truth", "t.jsonl"], "unknown fault"),
        (["--inject", "duplicate=0.1", "--ground-truth", "no/such/t.jsonl"], "does not exist"),
    ],
)
def test_produce_refuses_bad_injection_options_before_publishing(
    cli: CliRunner, args: list[str], message: str
):
    done = run_cli(cli, "flights", "--limit", "10", *args)
    assert isinstance(done.exception, ConfigError), done.output
    assert message in str(done.exception)


def test_produce_csv_injects_only_what_needs_no_contract(cli: CliRunner, tmp_path: Path):
    rows = "\n".join(
        f"{i},k{i % 3},2024-01-01T00:{i // 60:02}:{i % 60:02}Z,{i % 2}" for i in range(600)
    )
    (tmp_path / "e.csv").write_text("id,key,time,label\n" + rows + "\n")
    base = [
        "csv",
        "e.csv",
        "--key",
        "key",
        "--time",
        "time",
        "--label",
        "label",
        "--event-id",
        "id",
        "--outcome-delay",
        "3600",
    ]
    refused = run_cli(cli, *base, "--inject", "all=0.01", "--ground-truth", "t.jsonl")
    assert isinstance(refused.exception, ConfigError)
    assert "cannot inject unit-mix" in str(refused.exception)
    spec = "duplicate=0.1,near-duplicate=0.1,conflicting-label=0.1"
    done = run_cli(cli, *base, "--inject", spec, "--ground-truth", "t.jsonl", "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["injected"]["duplicate"] > 30 and summary["injected"]["late"] == 0
    assert len(read_truth(tmp_path / "t.jsonl")) == sum(summary["injected"].values())
