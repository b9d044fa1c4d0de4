"""driftline: streaming ingestion and online inference, in four layers.

- :mod:`pipeline.core`: pure logic (events, codec, features, state, metrics, the task);
- :mod:`pipeline.adapters`: settings, Kafka and Redis clients, key schema, checkpoint stores;
- ``producers`` and ``consumers``: the two edges (publishing; the worker and reading back);
- :mod:`pipeline.app`: the ``driftline`` command and the demo; :mod:`pipeline.stack`: the
  local Kafka and Redis.

The names most users need are re-exported here (loaded on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.core import __version__

if TYPE_CHECKING:
    from pipeline.adapters.settings import Settings
    from pipeline.core.errors import DriftlineError
    from pipeline.core.events import Observation, Outcome

__all__ = ["DriftlineError", "Observation", "Outcome", "Settings", "__version__"]

_EXPORTS = {
    "DriftlineError": "pipeline.core.errors",
    "Observation": "pipeline.core.events",
    "Outcome": "pipeline.core.events",
    "Settings": "pipeline.adapters.settings",
}


def __getattr__(name: str) -> Any:
    """Re-exports load on first use: importing ``pipeline.core`` loads no adapter."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
