"""The pure core: events, codec, features, quality rules, state, metrics, models, the task.

Nothing here reaches a service: no Kafka, Redis, sockets, subprocesses or terminal. The
whole prequential loop (:class:`~driftline.core.task.partition.PartitionTask`) runs in a unit test.
Import what you need from its modules; this package exports the version only, so that
importing one module does not load them all.
"""

from driftline.core.compiled import guard as _guard

__all__ = ["__version__"]

__version__ = "0.1.0"

# Modules compiled by `make compile` whose source changed since are imported as source.
_guard()
