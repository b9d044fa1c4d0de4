"""A producer that can be replaced by a new one after a failed publish, and a record source
replaced by a new one when its consumer stops fetching a partition.

A Kafka producer can end in a state it does not leave: kafka-python's idempotent producer,
after a broker that held its only replicas died and came back (a log folder that filled,
then was freed), waited for ever for a producer id while its batches sat unsent, so every
retry of the worker's alerts timed out in ``flush`` and the worker never resumed (seen in
``tests/isolated/full_disk.py``, two runs of three). Kafka's own advice for a producer in
such a state is to close it and make another. :func:`~driftline.adapters.kafka.acks.
send_acknowledged` does that after any failure through :meth:`RenewingProducer.renew`:
the retry that follows publishes the same records on a new producer (new producer id, new
connections), which is what a retry would have sent anyway.

>>> made = []
>>> class Fake:
...     def __init__(self): made.append(self); self.closed = None
...     def send(self, **kw): return kw
...     def close(self, timeout=None): self.closed = timeout
>>> producer = RenewingProducer(Fake)
>>> producer.send(topic="t")
{'topic': 't'}
>>> producer.renew()
>>> len(made), made[0].closed, producer.renewals
(2, 0, 1)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["RenewingProducer", "RenewingSource"]

log = logging.getLogger(__name__)


class _Renewing:
    """``make()``'s client, with every attribute of it, replaced by :meth:`_replace`."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self.client = make()
        self.renewals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _replace(self, close: Callable[[Any], None], what: str) -> None:
        """``close`` the client (a failure only logged: it is dropped either way) and make
        a new one in its place."""
        try:
            close(self.client)
        except Exception as exc:
            log.warning("the %s being replaced did not close cleanly (%s)", what, exc)
        self.client = self._make()
        self.renewals += 1


class RenewingProducer(_Renewing):
    """``make()``'s producer, with every attribute of it, replaced by :meth:`renew`."""

    def renew(self) -> None:
        """Close the producer without waiting (what it holds unsent is dropped: the caller
        publishes it again) and make a new one."""
        self._replace(lambda old: old.close(timeout=0), "Kafka producer")
        log.warning("the Kafka producer was replaced by a new one after a failed publish")


class RenewingSource(_Renewing):
    """``make()``'s record source, with every attribute of it, replaced by :meth:`renew`."""

    def renew(self, listener: Any) -> None:
        """Let ``listener`` release every partition (its checkpoints hold their offsets),
        close the consumer (it leaves the group; if it cannot, its membership expires) and
        subscribe a new one in its place: the group assigns the partitions again, to it or
        to another member."""
        listener.on_revoked(self.client.assignment())
        self._replace(lambda old: old.close(), "Kafka consumer")
        self.client.subscribe(listener)
        log.warning("the Kafka consumer was replaced by a new one")
