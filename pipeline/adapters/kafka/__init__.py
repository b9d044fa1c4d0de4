"""The worker's Kafka I/O: every module of driftline that imports a Kafka client library
for the worker lives here (``kafka`` for kafka-python, ``confluent_kafka`` for
``driftline[fast]``).

- :mod:`~driftline.adapters.kafka.source`: the record source of a consumer group member
  (kafka-python); :mod:`~driftline.adapters.kafka.confluent_source`: the same on
  confluent-kafka (imported only when chosen);
- :mod:`~driftline.adapters.kafka.range_source`: an offset range of each partition, read
  without a group (``driftline replay``);
- :mod:`~driftline.adapters.kafka.acks`: send, flush, every record acknowledged;
- the writers: :mod:`~driftline.adapters.kafka.dead_letters`,
  :mod:`~driftline.adapters.kafka.alerts`, :mod:`~driftline.adapters.kafka.ticks`
  (watermark ticks) and :mod:`~driftline.adapters.kafka.control` (control commands);
- :mod:`~driftline.adapters.kafka.published`: where the output topics stood, and what
  was published on them since, read back (a replay publishes nothing twice);
- :mod:`~driftline.adapters.kafka.rebalance`: what a source tells of a rebalance.

The client factories (:mod:`driftline.adapters.kafka_clients`,
:mod:`driftline.adapters.confluent_clients`) and the topic admin
(:mod:`driftline.adapters.topics`) stay beside this package. Nothing is imported here:
``import driftline.adapters.kafka.source`` loads kafka-python only.
"""

__all__: list[str] = []
