"""``consume --source``: a user's own topics, in the user's JSON, read with no bridge.

Flights are published as a user would publish them (plain JSON, by kafka-python, not by
driftline's code) into two topics of the user's: observations keyed by route, outcomes
either keyed alike or naming their flight only (then driftline routes both by event id).
Every observation is predicted exactly once, every outcome learned once, a bad record is
a dead letter naming its topic, partition and offset, and SIGKILLs at random points end
equal to one uninterrupted pass over the log the ingest stage wrote.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.kafka_clients import admin_client, make_producer
from driftline.adapters.settings import Settings
from driftline.core.events.model import Observation
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.consumers.final_state import (
    consume_env,
    final_state,
    records_done,
    replayed,
    wait_for,
)
from tests.integration.helpers import create_topics, dead_letter_headers, drain, publish

pytestmark = pytest.mark.integration

FLIGHTS = 1200
PARTITIONS = 3
WORKER_ENV = {
    "DRIFTLINE_LATENESS_FEATURE": "false",
    "DRIFTLINE_CHECKPOINT_EVERY": "200",
    "DRIFTLINE_CHECKPOINT_INTERVAL_S": "1",
    "DRIFTLINE_SESSION_TIMEOUT_MS": "6000",
    "DRIFTLINE_MAX_POLL_RECORDS": "150",
    "DRIFTLINE_PENDING_TTL_S": "21600",
    "DRIFTLINE_PARTITIONS": str(PARTITIONS),
}


def _timed() -> list[Any]:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=120, max_s=900), seed=5)
    return list(plan.schedule(flight_events(limit=FLIGHTS, key_by="route")))


TIMED = _timed()
OBSERVATIONS = [t.event for t in TIMED if isinstance(t.event, Observation)]


def _source_file(folder: Path, namespace: str, *, keyed_outcomes: bool) -> Path:
    outcome_key = 'key = "entity"\n' if keyed_outcomes else ""
    path = folder / "flights-source.toml"
    path.write_text(
        f"""
[topics]
observations = ["{namespace}.user-flights"]
outcomes = ["{namespace}.user-arrivals"]

[format]
type = "json"

[observation]
key = "entity"
event_id = "flight"
event_time = "scheduled_ms"
time = "epoch_ms"
features_except = []

[outcome]
event_id = "flight"
{outcome_key}event_time = "arrived"
time = "iso"
label = "delayed"
labels = {{ Y = true, N = false }}
"""
    )
    return path


def _publish_user_topics(settings: Settings, *, keyed_outcomes: bool, bad: bool) -> int:
    """The flights as the user's JSON, in arrival order, stamped with their arrival."""
    namespace = settings.namespace
    flights, arrivals = f"{namespace}.user-flights", f"{namespace}.user-arrivals"
    with admin_client(settings.kafka) as admin:
        from kafka.admin import NewTopic

        keep = {"retention.ms": "-1"}  # the records are stamped 2013: keep them
        admin.create_topics(
            [
                NewTopic(flights, PARTITIONS, 1, topic_configs=keep),
                NewTopic(arrivals, PARTITIONS + 1, 1, topic_configs=keep),
            ]
        )
    producer = make_producer(settings.kafka)
    sent, stamp = 0, 0
    try:
        for timed in TIMED:
            # strictly increasing stamps: arrivals capped at the same delay tie, and the
            # merge breaks ties by topic, where the reference keeps the arrival order
            event, stamp = timed.event, max(stamp + 1, int(timed.arrival.timestamp() * 1000))
            if isinstance(event, Observation):
                body: dict[str, Any] = {
                    "flight": event.event_id,
                    "entity": event.key,
                    "scheduled_ms": int(event.event_time.timestamp() * 1000),
                    **event.features,
                }
                topic, key = flights, event.key
            else:
                body = {
                    "flight": event.event_id,
                    "arrived": event.event_time.isoformat(),
                    "delayed": "Y" if event.label else "N",
                }
                if keyed_outcomes:
                    body["entity"] = event.key
                topic, key = arrivals, body.get("entity", event.event_id)
            producer.send(
                topic, key=key.encode(), value=json.dumps(body).encode(), timestamp_ms=stamp
            )
            sent += 1
        if bad:  # not JSON; and an observation without its event time
            producer.send(flights, key=b"x", value=b"{not json", timestamp_ms=stamp)
            producer.send(
                flights, key=b"x", value=b'{"flight": "bad-1", "entity": "x"}', timestamp_ms=stamp
            )
        producer.flush()
    finally:
        producer.close()
    return sent


def _env(settings: Settings) -> dict[str, str]:
    return consume_env(settings, WORKER_ENV)


def _consume(settings: Settings, source: Path, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--source", str(source), *args],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        lateness_feature=False,
        checkpoint_every=200,
        checkpoint_interval_s=1.0,
        max_poll_records=150,
        pending_ttl_s=21600.0,
        partitions=PARTITIONS,
    )


@pytest.fixture(scope="module")
def reference(services) -> dict[str, Any]:
    """The same flights published by driftline's own producer into an events topic, in
    arrival order, and drained: what reading the user's topics must come to."""
    settings = _settings(
        Settings(
            _env_file=None,
            namespace=f"ref{uuid.uuid4().hex[:12]}",
            kafka_bootstrap=services.bootstrap,
            redis_url=services.redis_url,
            checkpoint_key=TEST_CHECKPOINT_KEY,
        )
    )
    create_topics(settings, partitions=PARTITIONS)
    drain(settings, publish(settings, [t.event for t in TIMED]))
    return final_state(settings)


def test_a_json_source_is_read_directly_and_bad_records_are_dead_letters(
    settings: Settings, tmp_path: Path, reference: dict[str, Any]
):
    settings = _settings(settings)
    _publish_user_topics(settings, keyed_outcomes=True, bad=True)
    source = _source_file(tmp_path, settings.namespace, keyed_outcomes=True)
    log = tmp_path / "consume.log"
    run = _consume(settings, source, log, "--until-idle", "5")
    assert run.wait(timeout=300) == 0, log.read_text()[-3000:]
    state = final_state(settings)
    assert state["predicted_ids"] == {o.event_id for o in OBSERVATIONS}
    # merged by record timestamp (the arrival), the two topics come to what one topic in
    # arrival order gives: the same models, labels, figures and predictions
    assert state == reference
    letters = [
        h for h in dead_letter_headers(settings) if h["driftline.source.topic"].endswith("flights")
    ]
    reasons = sorted(h["driftline.reason"] for h in letters)
    assert reasons == ["source-field-missing", "source-undecodable"], letters
    assert all(h["driftline.source.offset"].isdigit() for h in letters)
    assert state == replayed(settings)


@pytest.mark.parametrize("keyed_outcomes", [True, False], ids=["keyed", "by-event-id"])
def test_sigkill_at_random_points_ends_equal_to_one_pass_over_the_log(
    settings: Settings, tmp_path: Path, keyed_outcomes: bool, reference: dict[str, Any]
):
    settings = _settings(settings)
    sent = _publish_user_topics(settings, keyed_outcomes=keyed_outcomes, bad=False)
    source = _source_file(tmp_path, settings.namespace, keyed_outcomes=keyed_outcomes)
    log = tmp_path / "consume.log"
    for point in sorted(random.Random(3).sample(range(sent // 8, sent * 7 // 8), 2)):
        run = _consume(settings, source, log)
        wait_for(lambda p=point: records_done(settings) >= p, 180, f"{point} records")
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    last = _consume(settings, source, log, "--until-idle", "8")
    assert last.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert "restored at offset" in log.read_text()
    state = final_state(settings)
    assert state["predicted_ids"] == {o.event_id for o in OBSERVATIONS}
    assert state == replayed(settings)
    counts = [m["counts"] for m in state["metrics"].values()]
    learned = sum(c["learned"] for c in counts)
    if keyed_outcomes:  # the reference's partitions: its watermarks, so its expiries
        assert learned == sum(m["counts"]["learned"] for m in reference["metrics"].values())
    # every outcome learned at most once, else dead-lettered with its reason (a copy the
    # ingest republished after a kill is a duplicate: a dead letter too)
    outcomes = len(TIMED) - len(OBSERVATIONS)
    assert learned <= outcomes <= learned + sum(c["dead_letters_outcome"] for c in counts)
