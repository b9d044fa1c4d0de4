"""Exactly-once outputs, proven on the real Kafka and Redis: a worker SIGKILLed after a
batch's dead letters and alerts are published but before its checkpoint is saved, then
started again, leaves each dead letter and each alert on its topic exactly once, and
every one that the stream makes is there (on both Kafka clients). So does a worker frozen
(SIGSTOP) before it writes out a batch, past its session timeout, while another worker
takes its partition over and publishes that batch: woken, it finds the partition claimed
since and publishes none of it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from driftline.adapters.kafka.control import send_control
from driftline.adapters.kafka_clients import make_consumer, make_producer
from driftline.adapters.settings import Settings
from driftline.core.events.control import ControlCommand
from driftline.producers.flights import flight_events
from driftline.producers.publisher import EventPublisher
from tests.integration.consumers.final_state import consume_env
from tests.integration.helpers import create_topics

pytestmark = pytest.mark.integration

#: Segments of the stream: each some flights, a record with no value (a ``truncated`` dead
#: letter), and a command (alternately promoting the challenger and the main model: an
#: alert; a promotion of a model that does not exist: a dead letter).
SEGMENTS = 24
FLIGHTS_EACH = 8
WORKER_ENV = {
    "DRIFTLINE_LATENESS_FEATURE": "false",
    "DRIFTLINE_CHECKPOINT_EVERY": "50",
    "DRIFTLINE_CHECKPOINT_INTERVAL_S": "1",
    "DRIFTLINE_MAX_POLL_RECORDS": "30",
    "DRIFTLINE_SESSION_TIMEOUT_MS": "6000",
    "DRIFTLINE_CHALLENGERS": json.dumps(
        {
            "fast": "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
            " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
            " | linear_model.LogisticRegression(optimizer=optim.SGD(0.05))"
        }
    ),
}
KILLED_RUN = Path(__file__).with_name("killed_after_publish.py")
PAUSED_RUN = Path(__file__).with_name("paused_before_publish.py")


@pytest.fixture(params=["kafka-python", "confluent"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.with_overrides(kafka_client=request.param)


def _publish_stream(settings: Settings) -> tuple[set[str], set[str]]:
    """The stream into partition 0 of the events topic; the ids of the dead letters and
    alerts it must make."""
    topic = settings.topics.events
    producer = make_producer(settings.kafka)
    flights = iter(flight_events(limit=SEGMENTS * FLIGHTS_EACH, key_by="route"))
    letters, alerts = set(), set()
    with EventPublisher(producer, topic) as publisher:
        for segment in range(SEGMENTS):
            for _ in range(FLIGHTS_EACH):
                flight = next(flights)  # its observation, then its outcome (if any)
                publisher.publish(flight.observation)
                if flight.outcome is not None:
                    publisher.publish(flight.outcome)
            publisher.flush()
            empty = producer.send(topic, key=b"bad", value=b"", partition=0).get(timeout=30)
            letters.add(f"{topic}:0:{empty.offset}:truncated")
            model = ("fast", "main", "nosuch")[segment % 3]
            command = ControlCommand(command="promote", argument=model, issued_by="test")
            offset = send_control(producer, topic, command, [0])[0]
            if model == "nosuch":
                letters.add(f"{topic}:0:{offset}:unknown-model")
            else:
                alerts.add(f"0-{offset}-promotion-{model}-promoted")
    return letters, alerts


def _ids(settings: Settings, topic: str) -> Counter[str]:
    consumer = make_consumer(settings.kafka, auto_offset_reset="earliest", consumer_timeout_ms=3000)
    consumer.subscribe([topic])
    try:
        return Counter(dict(record.headers)["driftline.id"].decode() for record in consumer)
    finally:
        consumer.close()


def _start(settings: Settings, log: Path, *command: str) -> subprocess.Popen[bytes]:
    """A worker subprocess that stops once idle for 3 s, its stderr appended to ``log``."""
    with log.open("ab") as err:
        return subprocess.Popen(
            [*command, "--until-idle", "3"],
            env=consume_env(settings, WORKER_ENV),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _finish(process: subprocess.Popen[bytes], timeout_s: float = 120) -> int:
    """Its exit status (killed past ``timeout_s``, which fails the test)."""
    try:
        return process.wait(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _consume(settings: Settings, log: Path, *command: str) -> int:
    return _finish(_start(settings, log, *command))


def test_a_replay_after_a_sigkill_between_publish_and_checkpoint_repeats_no_output(
    settings: Settings, tmp_path: Path
) -> None:
    create_topics(settings, partitions=1)
    letters, alerts = _publish_stream(settings)
    log = tmp_path / "worker.log"
    killed = _consume(settings, log, sys.executable, str(KILLED_RUN))
    assert killed == -signal.SIGKILL, log.read_text()[-3000:]
    published = _ids(settings, settings.topics.dead_letter)
    assert published and all(n == 1 for n in published.values())  # the killed batch's too
    assert _consume(settings, log, sys.executable, "-m", "driftline", "consume") == 0, (
        log.read_text()[-3000:]
    )
    assert "published already" in log.read_text()  # the restart read some back
    found_letters = _ids(settings, settings.topics.dead_letter)
    found_alerts = _ids(settings, settings.topics.alerts)
    assert letters <= set(found_letters), sorted(set(found_letters) ^ letters)[:6]
    assert alerts <= set(found_alerts)
    assert [i for i, n in (found_letters + found_alerts).items() if n > 1] == []


def _stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (SIGSTOP): its state in /proc is ``T``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def _wait(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_worker_frozen_past_its_session_publishes_nothing_its_successor_did(
    settings: Settings, tmp_path: Path
) -> None:
    create_topics(settings, partitions=1)
    letters, alerts = _publish_stream(settings)
    log = tmp_path / "frozen.log"
    frozen = _start(settings, log, sys.executable, str(PAUSED_RUN))
    try:
        _wait(lambda: frozen.poll() is not None or _stopped(frozen.pid), 120, "the freeze")
        assert frozen.poll() is None, log.read_text()[-3000:]
        # the successor waits out the frozen one's session, restores, publishes all, leaves
        successor_log = tmp_path / "successor.log"
        successor = _consume(settings, successor_log, sys.executable, "-m", "driftline", "consume")
        assert successor == 0, successor_log.read_text()[-3000:]
        assert _ids(settings, settings.topics.alerts).keys() >= alerts
        frozen.send_signal(signal.SIGCONT)  # it writes out the batch it held
    finally:
        status = _finish(frozen)
    assert status == 0, log.read_text()[-3000:]
    found_letters = _ids(settings, settings.topics.dead_letter)
    found_alerts = _ids(settings, settings.topics.alerts)
    assert letters <= set(found_letters) and alerts <= set(found_alerts)
    assert [i for i, n in (found_letters + found_alerts).items() if n > 1] == []
    assert "claimed by another worker" in log.read_text()


def test_importing_the_kill_hook_patches_nothing() -> None:
    """pytest imports the hook's module to collect its doctests: a patch made on import
    SIGKILLed the test session itself at its next in-process dead letter (CI, once)."""
    import tests.integration.consumers.killed_after_publish as hook
    import tests.integration.consumers.paused_before_publish as pause
    from driftline.adapters.kafka.dead_letters import DeadLetterPublisher
    from driftline.consumers.outputs import BatchWrite
    from driftline.consumers.tasks import TaskStore

    assert DeadLetterPublisher.publish is hook._publish_letters
    assert TaskStore.store_sealed is hook._store_sealed is pause._store_sealed
    assert BatchWrite.attempt is pause._attempt
