"""The Redis key schema, in one place. Every key starts with ``<namespace>:``.

>>> keys = RedisKeys("demo")
>>> keys.prediction("EWR"), keys.predictions_stream, keys.metrics
('demo:prediction:EWR', 'demo:predictions', 'demo:metrics')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RedisKeys"]


@dataclass(frozen=True)
class RedisKeys:
    namespace: str

    def prediction(self, key: str) -> str:
        """Hash: the latest prediction for entity ``key``."""
        return f"{self.namespace}:prediction:{key}"

    @property
    def prediction_pattern(self) -> str:
        return f"{self.namespace}:prediction:*"

    @property
    def predictions_stream(self) -> str:
        """Stream: every prediction, capped, for subscribers."""
        return f"{self.namespace}:predictions"

    @property
    def metrics(self) -> str:
        """Hash: one field per task (``p<partition>``), a JSON metrics snapshot each."""
        return f"{self.namespace}:metrics"
