"""An application reaching the local stack: the client from the stack's home (its Redis URL
and password found there), and what ``stack status --json`` gives one that reads it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.app.connect import async_predictions_from_stack, predictions_from_stack, stack_redis
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import Prediction
from driftline.read.reader import PredictionsClient
from driftline.stack.redis_node import with_password

pytestmark = pytest.mark.integration

AT = datetime(2024, 6, 1, 8, tzinfo=UTC)


@pytest.fixture
def written(services: Endpoints, namespace: str) -> str:
    """One prediction for ``EWR`` in ``namespace``, written as a worker writes it."""
    client = make_redis(services.redis_url)
    prediction = Prediction("EWR", "e1", 0, 1, AT, AT, AT, False, {True: 0.2, False: 0.8}, 3)
    RedisSink(client, namespace).write([prediction], [])
    client.close()
    return namespace


def test_the_stacks_client_reads_with_its_password(local_stack_home: Path, written: str) -> None:
    with predictions_from_stack(local_stack_home, written) as client:
        found = client.get("EWR")
    assert found is not None and found.probability_of(found.prediction) == 0.8

    async def read() -> float | None:
        async with async_predictions_from_stack(local_stack_home, written) as client:
            stored = await client.get("EWR")
            return None if stored is None else stored.positive_probability

    assert asyncio.run(read()) == 0.2
    found_redis = stack_redis(str(local_stack_home), written)
    assert "***" in repr(found_redis) and found_redis.url not in repr(found_redis)


def test_a_home_without_a_running_stack_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        ServiceUnavailable, match="is not running: start it with 'driftline stack up'"
    ):
        predictions_from_stack(tmp_path / "no-stack-here")


def test_status_json_gives_the_url_and_where_its_password_is(
    local_stack_home: Path, written: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env["DRIFTLINE_STACK_HOME"] = str(local_stack_home)
    shown = subprocess.run(
        [sys.executable, "-m", "driftline", "stack", "status", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout.strip().splitlines()[-1])
    password = Path(status["redis_password_file"]).read_text().strip()
    assert password not in shown.stdout + shown.stderr  # the URL stays without it
    # the printed URL alone is refused as such, not as a Redis that did not answer
    with pytest.raises(ServiceUnavailable, match="authentication failed") as caught:
        PredictionsClient.from_url(status["redis_url"], written)
    assert "did not answer" not in str(caught.value)
    with PredictionsClient.from_url(
        with_password(status["redis_url"], password), written
    ) as client:
        assert client.get("EWR") is not None
