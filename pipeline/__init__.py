"""driftline: streaming ingestion and online inference, in four layers.

- :mod:`driftline.core`: pure logic (events, codec, features, state, metrics, the task);
- :mod:`driftline.adapters`: settings, Kafka and Redis clients, key schema, checkpoint stores;
- ``producers``, ``consumers`` and :mod:`driftline.read`: the edges (publishing; the
  worker; reading predictions, metrics and events back);
- :mod:`driftline.app`: the ``driftline`` command and the demo; :mod:`driftline.stack`: the
  local Kafka and Redis.

The names most users need are re-exported here (loaded on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from driftline.core import __version__

if TYPE_CHECKING:
    from driftline.adapters.settings import Settings
    from driftline.core.errors import DriftlineError
    from driftline.core.events.model import Observation, Outcome

__all__ = ["DriftlineError", "Observation", "Outcome", "Settings", "__version__"]

_EXPORTS = {
    "DriftlineError": "driftline.core.errors",
    "Observation": "driftline.core.events.model",
    "Outcome": "driftline.core.events.model",
    "Settings": "driftline.adapters.settings",
}


def __getattr__(name: str) -> Any:
    """Re-exports load on first use: importing ``driftline.core`` loads no adapter."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'driftline' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
