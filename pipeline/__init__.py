"""driftline: streaming ingestion and online inference, in four layers.

- :mod:`driftline.core`: pure logic (events, codec, features, state, metrics, the task);
- :mod:`driftline.adapters`: settings, Kafka and Redis clients, key schema, checkpoint stores;
- ``producers``, ``consumers`` and :mod:`driftline.read`: the edges (publishing; the
  worker; reading predictions, metrics and events back);
- :mod:`driftline.app`: the ``driftline`` command and the demo; :mod:`driftline.stack`: the
  local Kafka and Redis.

The names most users need are re-exported here (loaded on first use): the events
(:class:`Observation`, :class:`Outcome`) and :func:`publish`; the settings;
:func:`run_worker` with its :data:`Model` and :data:`FeatureFunction` types
(:mod:`driftline.api`); and the readers of predictions (:class:`PredictionsClient`, its
asyncio twin, and :func:`predictions_from_stack` for the local stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from driftline.core import __version__

if TYPE_CHECKING:
    from driftline.adapters.settings import Settings
    from driftline.api import FeatureFunction, Model, publish, run_worker
    from driftline.app.connect import async_predictions_from_stack, predictions_from_stack
    from driftline.core.errors import DriftlineError
    from driftline.core.events.model import FeatureValue, Observation, Outcome
    from driftline.read import AsyncPredictionsClient, PredictionsClient, StoredPrediction

#: Each re-exported name, by the module that defines it (add a name here, to ``__all__``
#: and to the ``TYPE_CHECKING`` imports above).
_EXPORTS = {
    "AsyncPredictionsClient": "driftline.read",
    "DriftlineError": "driftline.core.errors",
    "FeatureFunction": "driftline.api",
    "FeatureValue": "driftline.core.events.model",
    "Model": "driftline.api",
    "Observation": "driftline.core.events.model",
    "Outcome": "driftline.core.events.model",
    "PredictionsClient": "driftline.read",
    "Settings": "driftline.adapters.settings",
    "StoredPrediction": "driftline.read",
    "async_predictions_from_stack": "driftline.app.connect",
    "predictions_from_stack": "driftline.app.connect",
    "publish": "driftline.api",
    "run_worker": "driftline.api",
}

__all__ = [
    "AsyncPredictionsClient",
    "DriftlineError",
    "FeatureFunction",
    "FeatureValue",
    "Model",
    "Observation",
    "Outcome",
    "PredictionsClient",
    "Settings",
    "StoredPrediction",
    "__version__",
    "async_predictions_from_stack",
    "predictions_from_stack",
    "publish",
    "run_worker",
]


def __getattr__(name: str) -> Any:
    """Re-exports load on first use: importing ``driftline.core`` loads no adapter."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'driftline' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
