"""The predictor behind ``POST /v1/predict``, made from the settings ``driftline serve``
runs with: the workers' checkpoint store, key and task configuration, and the events
topic's partition count."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from driftline.adapters.checkpoints.keys import checkpoint_key
from driftline.adapters.settings import Settings
from driftline.consumers.runner import checkpoint_store
from driftline.core.errors import ConfigError
from driftline.core.task.seal import CheckpointCodec, CheckpointError
from driftline.read.predictor import CheckpointPredictor

__all__ = ["predictor_of"]

log = logging.getLogger(__name__)


def predictor_of(
    settings: Settings,
    redis_client: Any,
    partitions: Callable[[], int],
    local_key: Callable[[], bytes | None] | None = None,
) -> CheckpointPredictor | None:
    """The predictor over the namespace's checkpoints (Redis through ``redis_client``, or
    the directory store), or ``None`` when there is no checkpoint key or the task
    configuration cannot be made (logged: the rest of the API still serves)."""
    try:
        codec = CheckpointCodec(checkpoint_key(settings.checkpoints, local_key))
        config = settings.task_config()
    except (ConfigError, CheckpointError, ImportError, ValueError) as exc:
        log.warning("POST /v1/predict is off: %s", exc)
        return None
    store = checkpoint_store(settings.checkpoints, settings.namespace, redis_client)
    return CheckpointPredictor(store, codec, config, partitions)
