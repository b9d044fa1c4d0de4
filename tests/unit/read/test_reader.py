"""The predictions clients without a server: URLs, what a failure says (never the password),
who closes the Redis client, and both drivers running the same reads."""

from __future__ import annotations

import asyncio
import traceback
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from driftline.adapters.prediction_record import encode_hash
from driftline.core.errors import ConfigError, DriftlineError, ServiceUnavailable
from driftline.core.events.records import Prediction
from driftline.read import reader
from driftline.read.async_reader import AsyncPredictionsClient
from driftline.read.reader import PredictionsClient

SECRET = "hunter2-s3cret"


def _everything_said(exc: BaseException) -> str:
    """The whole traceback, causes included: what a log or a terminal would show."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize(
    "url",
    [
        f"http://:{SECRET}@127.0.0.1:6379/0",  # not a Redis scheme
        f"redis://:{SECRET}@127.0.0.1:port/0",  # not a port
    ],
)
def test_a_url_that_is_not_a_redis_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError, match="is not valid") as caught:
        PredictionsClient.from_url(url)
    assert SECRET not in _everything_said(caught.value)
    with pytest.raises(ConfigError, match="is not valid") as caught:
        AsyncPredictionsClient.from_url(url)
    assert SECRET not in _everything_said(caught.value)


def test_a_redis_that_does_not_answer_is_unavailable_without_the_password() -> None:
    url = f"redis://:{SECRET}@127.0.0.1:1/0"  # nothing listens on port 1
    with pytest.raises(ServiceUnavailable, match="did not answer") as caught:
        PredictionsClient.from_url(url, timeout_s=1)
    said = _everything_said(caught.value)
    assert SECRET not in said and "redis://:***@127.0.0.1:1/0" in said


def test_the_async_client_connects_on_its_first_read_and_says_the_same() -> None:
    client = AsyncPredictionsClient.from_url(f"rediss://:{SECRET}@127.0.0.1:1/0", timeout_s=1)

    async def read() -> None:
        async with client:
            await client.get("EWR")

    with pytest.raises(ServiceUnavailable, match="Redis did not answer") as caught:
        asyncio.run(read())
    assert SECRET not in _everything_said(caught.value)


class _Refusing:
    """A Redis client whose every command fails with ``error``; counts its closes."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = 0

    def hgetall(self, key: str) -> Any:
        raise self.error

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (redis.AuthenticationError("Authentication required."), "authentication failed (NOAUTH"),
        (
            redis.AuthenticationError("invalid username-password pair or user is disabled."),
            "authentication failed (WRONGPASS",
        ),
        (redis.ConnectionError("Connection refused"), "Redis did not answer: ConnectionError"),
        (redis.TimeoutError("Timeout reading"), "Redis did not answer: TimeoutError"),
    ],
)
def test_a_refused_password_is_not_called_an_outage(error: Exception, said: str) -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        PredictionsClient(_Refusing(error), "ns").get("EWR")
    assert said in str(caught.value)
    assert ("did not answer" in str(caught.value)) != isinstance(error, redis.AuthenticationError)

    class AsyncRefusing:
        async def hgetall(self, key: str) -> Any:
            raise error

    with pytest.raises(ServiceUnavailable) as caught_async:
        asyncio.run(AsyncPredictionsClient(AsyncRefusing(), "ns").get("EWR"))
    assert str(caught_async.value) == str(caught.value)


def test_a_client_given_is_the_callers_and_one_made_from_a_url_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = _Refusing(RuntimeError())
    with PredictionsClient(given, "ns"):
        pass
    assert given.closed == 0
    made = _Refusing(RuntimeError())
    monkeypatch.setattr(reader, "make_redis", lambda url, timeout_s: made)
    with PredictionsClient.from_url("redis://127.0.0.1:6379/0", "ns") as client:
        assert client.keys.namespace == "ns"
    assert made.closed == 1


def test_both_clients_read_the_same_record_the_same_way() -> None:
    at = datetime(2024, 6, 1, 8, tzinfo=UTC)
    prediction = Prediction("EWR", "e1", 0, 1, at, at, at, False, {True: 0.3, False: 0.7}, 2)
    fields = {k.encode(): v.encode() for k, v in encode_hash(prediction).items()}
    asked: list[str] = []

    class Sync:
        def hgetall(self, key: str) -> dict[bytes, bytes]:
            asked.append(key)
            return fields

    class Async:
        async def hgetall(self, key: str) -> dict[bytes, bytes]:
            asked.append(key)
            return fields

    blocking = PredictionsClient(Sync(), "ns").get("EWR")
    awaited = asyncio.run(AsyncPredictionsClient(Async(), "ns").get("EWR"))
    assert blocking == awaited and blocking is not None
    assert asked == ["ns:prediction:EWR"] * 2
    assert blocking.probability_of(blocking.prediction) == 0.7
    assert blocking.positive_probability == 0.3


def test_every_failure_is_a_driftline_error() -> None:
    assert issubclass(ServiceUnavailable, DriftlineError) and issubclass(
        ConfigError, DriftlineError
    )
