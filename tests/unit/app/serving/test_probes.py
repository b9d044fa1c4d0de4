"""``/livez`` answers while the process runs, whatever Redis does; ``/readyz`` answers
503 naming what is down; ``/health`` stays the detailed report."""

from __future__ import annotations

from driftline.core.errors import ServiceUnavailable
from tests.unit.app.serving.test_app import MemoryReader, client_of


def kafka_down() -> dict[int, int]:
    raise ServiceUnavailable("Kafka did not answer: KafkaTimeoutError")


def test_liveness_does_not_depend_on_redis_or_kafka() -> None:
    reader = MemoryReader()
    reader.down = True
    answer = client_of(reader, kafka_down).get("/livez")
    assert (answer.status_code, answer.json()) == (200, {"status": "alive"})
    assert reader.calls == []  # nothing asked


def test_ready_when_redis_and_kafka_answer() -> None:
    answer = client_of(MemoryReader(), lambda: {0: 3}).get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {
        "ready": True,
        "redis": {"reachable": True, "error": None},
        "kafka": {"reachable": True, "error": None},
        "warnings": [],
    }
    unchecked = client_of(MemoryReader(), None).get("/readyz").json()  # no Kafka to ask
    assert unchecked["ready"] is True and unchecked["kafka"]["reachable"] is None


def test_not_ready_names_what_is_down() -> None:
    answer = client_of(MemoryReader(), kafka_down).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["kafka"] == {
        "reachable": False,
        "error": "Kafka did not answer: KafkaTimeoutError",
    }
    assert answer.json()["redis"]["reachable"] is True
    reader = MemoryReader()
    reader.down = True
    answer = client_of(reader, lambda: {}).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["redis"] == {
        "reachable": False,
        "error": "Redis did not answer: ConnectionError",
    }
    assert answer.json()["kafka"]["reachable"] is True
    assert client_of(reader, lambda: {}).get("/health").status_code == 503  # the report


def test_ready_with_a_warning_when_redis_may_evict_predictions() -> None:
    reader = MemoryReader()
    reader.eviction = "Redis evicts keys with a time to live when full (volatile-lru)"
    answer = client_of(reader, lambda: {0: 3}).get("/readyz")
    assert answer.status_code == 200 and answer.json()["ready"] is True
    assert answer.json()["warnings"] == [reader.eviction]
