"""Nothing forgeable is ever unpickled: a checkpoint sealed with any key an attacker
could know is refused before a byte of it is unpickled, and no worker runs without a key."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.task.seal import CheckpointCodec
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.helpers import create_topics, publish

pytestmark = pytest.mark.integration

#: Keys an attacker could know: the development key older versions shipped in their source,
#: and the usual guesses.
KNOWN_KEYS = [b"driftline-development-checkpoint-key", b"0" * 32, b"driftline" * 2, b" " * 16]


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _forged(key: bytes, marker: Path, partition: int = 0) -> bytes:
    header = {"format": 2, "partition": partition, "config_fingerprint": "x", "model": "x"}
    return CheckpointCodec(key).seal(header, pickle.dumps({"model": _RunsCode(marker)}))


@pytest.mark.parametrize("key", KNOWN_KEYS)
@pytest.mark.parametrize("where", ["local-stack", "settings"])
def test_a_forged_checkpoint_is_refused_before_it_is_unpickled(
    services: Endpoints,
    local_stack_home: Path,
    namespace: str,
    tmp_path: Path,
    key: bytes,
    where: str,
) -> None:
    """``local-stack``: no key set, the worker takes the stack's own (once: a constant in
    the source, which is how a forged checkpoint ran its code); ``settings``: a set key."""
    from driftline.adapters.settings import Settings

    settings = Settings(
        _env_file=None,
        namespace=namespace,
        kafka_bootstrap=services.bootstrap,
        redis_url=services.redis_url,
    )
    create_topics(settings)
    from tests.integration.consumers.test_recovery import EVENTS

    publish(settings, EVENTS[:20])
    marker = tmp_path / "pwned"
    client = make_redis(services.redis_url)
    try:
        client.set(RedisKeys(namespace).checkpoint(0), _forged(key, marker))
    finally:
        client.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_NAMESPACE": namespace, "DRIFTLINE_STACK_HOME": str(local_stack_home)}
    if where == "settings":
        env |= {
            "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
            "DRIFTLINE_REDIS_URL": services.redis_url,
            "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        }
    done = subprocess.run(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not marker.exists(), "the forged checkpoint ran its code"
    assert done.returncode == 3, done.stderr[-2000:]  # a refused checkpoint: its own status
    assert "checkpoint refused" in done.stderr and "Traceback" not in done.stderr


def test_no_worker_starts_without_a_checkpoint_key(services: Endpoints, namespace: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")} | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_NAMESPACE": namespace,
    }
    done = subprocess.run(
        [sys.executable, "-m", "driftline", "consume", "--max-events", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no checkpoint key" in done.stderr and "DRIFTLINE_CHECKPOINT_KEY" in done.stderr
    assert "Traceback" not in done.stderr
