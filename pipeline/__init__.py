"""driftline: streaming ingestion and online inference, in four layers.

- :mod:`pipeline.core`: pure logic (events, codec, features, state, metrics, the task);
- :mod:`pipeline.adapters`: settings, Kafka and Redis clients, key schema, checkpoint stores;
- ``producers`` and ``consumers``: the two edges (publishing; the worker and reading back);
- :mod:`pipeline.app`: the ``driftline`` command and the demo; :mod:`pipeline.stack`: the
  local Kafka and Redis.

The names most users need are re-exported here.
"""

from pipeline.adapters.settings import Settings
from pipeline.core import __version__
from pipeline.core.errors import DriftlineError
from pipeline.core.events import Observation, Outcome

__all__ = ["DriftlineError", "Observation", "Outcome", "Settings", "__version__"]
