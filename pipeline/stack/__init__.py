"""The local stack: Kafka (KRaft, jars from Maven Central) and Redis on loopback ports."""

from driftline.stack.jars import ensure_kafka_jars
from driftline.stack.local import LocalStack, StackStatus

__all__ = ["LocalStack", "StackStatus", "ensure_kafka_jars"]
