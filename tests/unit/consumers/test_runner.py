"""driftline.consumers.runner: the WorkerBuilder, the one wiring of a worker (``consume``
and ``replay``), on stand-ins for the Redis client and the producer; and the worker's
configuration from the settings (no watermark ticks on a topic of the replay's clock)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import driftline.consumers.runner as runner
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka.ticks import TickPublisher
from driftline.adapters.settings import Settings
from driftline.consumers.runner import WorkerBuilder, worker_config
from driftline.core.errors import ConfigError
from tests.unit.consumers.worker_fakes import MemorySource, MemoryTopic

ENDPOINTS = Endpoints("127.0.0.1:1", "redis://127.0.0.1:1/0", "settings")


class Made:
    """The clients the builder made, in order, and which were closed."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.policy = "noeviction"

    def redis(self, url: str, **options: Any) -> Any:
        self.log.append("redis")
        made = self

        class Client:
            def register_script(self, body: str) -> Any:
                return lambda keys=(), args=(): None

            def info(self, section: str) -> dict[str, Any]:
                return {"maxmemory_policy": made.policy, "maxmemory": 1 << 30}

            def close(self) -> None:
                made.log.append("redis closed")

        return Client()

    def producer(self, kafka: Any) -> Any:
        self.log.append(f"producer for {kafka.bootstrap}")
        made = self

        class Producer:
            def close(self, timeout: float | None = None) -> None:
                made.log.append("producer closed")

        return Producer()

    def source(self) -> MemorySource:
        self.log.append("source")
        return MemorySource(MemoryTopic(1))


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[Made]:
    made = Made()
    monkeypatch.setattr(runner, "make_redis", made.redis)
    monkeypatch.setattr(runner, "make_worker_producer", made.producer)
    monkeypatch.setenv("DRIFTLINE_CHECKPOINT_KEY", "k" * 32)
    yield made


def settings() -> Settings:
    return Settings(_env_file=None)


def test_a_missing_checkpoint_key_is_refused_before_anything_connects(
    made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRIFTLINE_CHECKPOINT_KEY")
    with pytest.raises(ConfigError, match="no checkpoint key"):
        WorkerBuilder(settings(), ENDPOINTS)
    assert made.log == []
    found = WorkerBuilder(settings(), ENDPOINTS, local_key=lambda: b"l" * 32)
    assert found.kafka.bootstrap == "127.0.0.1:1"


def test_a_consume_worker_writes_ticks_and_closes_its_clients(made: Made) -> None:
    config = settings()
    builder = WorkerBuilder(config, ENDPOINTS)
    with builder.worker(made.source, worker_config(config), ticks_member="member-1") as worker:
        assert made.log == ["redis", "producer for 127.0.0.1:1", "source"]
        assert isinstance(worker.ticks, TickPublisher) and worker.ticks.topic == "driftline.events"
        assert worker.outputs.dead_letters.source_topic == "driftline.events"  # type: ignore[attr-defined]
        assert worker.store.namespace == config.namespace
    assert made.log[-2:] == ["producer closed", "redis closed"]


def test_a_replay_worker_writes_no_tick_and_names_the_topic_it_reads(made: Made) -> None:
    config = settings().with_overrides(namespace="replayed")
    builder = WorkerBuilder(config, ENDPOINTS)
    with builder.worker(made.source, worker_config(config), source_topic="live.events") as worker:
        assert worker.ticks is None
        assert worker.outputs.dead_letters.topic == "replayed.dead-letter"  # type: ignore[attr-defined]
        assert worker.outputs.dead_letters.source_topic == "live.events"  # type: ignore[attr-defined]


def test_checkpoints_are_refused_a_redis_that_evicts_any_key(
    made: Made, caplog: pytest.LogCaptureFixture
) -> None:
    """allkeys-*: refused with the way out, before the producer is made, the client
    closed; kept on disk instead, the worker starts and warns; volatile-*: a warning."""
    made.policy = "allkeys-lru"
    config = settings()
    with (
        pytest.raises(ConfigError, match="DRIFTLINE_CHECKPOINT_STORE=directory"),
        WorkerBuilder(config, ENDPOINTS).worker(made.source, worker_config(config)),
    ):
        pass
    assert made.log == ["redis", "redis closed"]
    on_disk = config.with_overrides(checkpoint_store="directory")
    for policy in ("allkeys-lru", "volatile-lfu"):
        made.policy = policy
        with (
            caplog.at_level("WARNING", logger="driftline.adapters.redis_memory"),
            WorkerBuilder(on_disk, ENDPOINTS).worker(made.source, worker_config(on_disk)),
        ):
            pass
        assert policy in caplog.text
    assert "latest predictions may vanish" in caplog.text


def test_the_clients_are_closed_when_the_run_fails(made: Made) -> None:
    config = settings()
    with (
        pytest.raises(RuntimeError),
        WorkerBuilder(config, ENDPOINTS).worker(made.source, worker_config(config)),
    ):
        raise RuntimeError("the run failed")
    assert made.log[-2:] == ["producer closed", "redis closed"]


def test_no_watermark_tick_is_written_on_a_topic_of_the_replay_s_clock() -> None:
    """A tick carries the wall clock, a replay's events their schedule: on a busy machine
    a tick moved event time by the producer's lag and expired 96,020 of the demo's
    predictions before their labels."""
    from driftline.adapters.settings import Settings
    from driftline.consumers.runner import worker_config

    broker = Settings(_env_file=None, idle_watermark_s=30)
    assert worker_config(broker).idle_watermark_s == 30
    replay = broker.with_overrides(kafka_timestamps="replay")
    assert worker_config(replay).idle_watermark_s is None


def test_write_behind_is_on_for_the_client_that_parses_outside_the_gil() -> None:
    """librdkafka parses records in C, so writing a batch while the next one is processed
    overlaps; kafka-python parses in Python and gains nothing from it (docs/performance.md)."""
    from driftline.adapters.settings import Settings
    from driftline.consumers.runner import worker_config

    plain = Settings(_env_file=None)
    assert plain.kafka.client == "kafka-python"
    assert worker_config(plain).write_behind is False
    assert worker_config(plain.with_overrides(kafka_client="confluent")).write_behind is True
