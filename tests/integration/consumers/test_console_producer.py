"""A JSON source written by Kafka's own console producer, read with ``consume --source``.

Kafka's ``org.apache.kafka.tools.ConsoleProducer`` (the ``kafka-tools`` artifact, fetched
with Maven into a cache folder of its own: ``ensure_kafka_tools_jars``) writes the loan
stream of ``examples/avro-registry`` as JSON lines, applications and outcomes in one
topic told apart by a field, each line ``key|json``. No Python client writes a record.
Every application is predicted once, every outcome learned once, and every probability
equals River's own prequential loop on the same rows: one topic of one partition keeps the
lines' order, which is the story's (:mod:`tests.integration.consumers.loan_stream`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import NewTopic

from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import Settings, StackSettings
from driftline.core.errors import StackError
from driftline.stack.jars import ensure_kafka_tools_jars
from tests.integration.consumers.loan_stream import (
    EXAMPLE,
    MODEL,
    consume_env,
    features_of,
    learned,
    loans_module,
    river_reference,
    run_command,
    stream_entries,
)
from tests.integration.helpers import dead_letter_headers

pytestmark = pytest.mark.integration

COUNT = 800
SEED = 3
FEATURES = features_of(EXAMPLE / "loans.toml")  # the example's own


@pytest.fixture(scope="module")
def kafka_tools() -> Path:
    """The folder of Kafka's command-line tools' jars (fetched once with Maven)."""
    if shutil.which("java") is None:
        pytest.skip("no java on PATH to run Kafka's console producer")
    config = StackSettings()
    try:
        return ensure_kafka_tools_jars(config.cache_dir, config.kafka_version)
    except StackError as exc:
        pytest.skip(f"Maven cannot fetch Kafka's tools here: {exc}")


def _source(folder: Path, topic: str) -> Path:
    path = folder / "loan-events.toml"
    path.write_text(
        f"""
[topics]
events = ["{topic}"]
kind = {{ field = "type", observation = "application", outcome = "outcome" }}

[format]
type = "json"

[observation]
key = "customer_id"
event_id = "loan_id"
event_time = "applied_at"
time = "epoch_ms"
features = {json.dumps(FEATURES)}

[outcome]
event_id = "loan_id"
event_time = "resolved_at"
time = "iso"
label = "defaulted"
labels = {{ Y = true, N = false }}
"""
    )
    return path


def _lines(records: list[Any]) -> str:
    """The story as the console producer's input: ``key|json`` per record."""
    lines = []
    for record in records:
        value = dict(record.value)
        if record.kind == "application":
            body = value | {
                "type": "application",
                "applied_at": int(value["applied_at"].timestamp() * 1000),
            }
        else:
            body = value | {
                "type": "outcome",
                "resolved_at": value["resolved_at"].isoformat(),
                "defaulted": "Y" if value["defaulted"] else "N",
            }
        lines.append(f"{record.key}|{json.dumps(body)}")
    return "\n".join(lines) + "\n"


def test_a_json_topic_written_by_kafkas_console_producer_equals_river(
    settings: Settings, kafka_tools: Path, tmp_path: Path
) -> None:
    topic = f"{settings.namespace}.loan-events"
    with admin_client(settings.kafka) as admin:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    story = loans_module().story(COUNT, SEED)
    produced = subprocess.run(
        [
            "java",
            "-cp",
            f"{kafka_tools}/*",
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            settings.kafka.bootstrap or "",
            "--topic",
            topic,
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=|",
        ],
        input=_lines(story),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert produced.returncode == 0, produced.stderr[-3000:]

    env = consume_env(settings, tmp_path, DRIFTLINE_PARTITIONS="1")
    consumed = run_command(
        [
            sys.executable,
            "-m",
            "driftline",
            "consume",
            "--source",
            str(_source(tmp_path, topic)),
            "--until-idle",
            "5",
            "--pending-ttl",
            "3000000",
            "--raw-features",
            "--model",
            MODEL,
            "--json",
        ],
        env,
    )
    summary = json.loads(consumed.strip().splitlines()[-1])
    print(summary)

    entries = stream_entries(settings)
    ours = {entry.event_id: entry.positive_probability for entry in entries}
    assert len(entries) == len(ours) == COUNT  # every application predicted exactly once
    assert learned(settings) == COUNT  # every outcome learned once
    assert dead_letter_headers(settings) == []
    reference = river_reference(story, FEATURES)
    assert set(ours) == set(reference)
    gaps = [abs((ours[loan] or 0.0) - reference[loan]) for loan in reference]
    print(f"River's reference: {len(gaps)} compared, max |difference| {max(gaps):.3g}")
    assert max(gaps) == 0.0
