"""The local stack: Kafka (KRaft, jars from Maven Central) and Redis on loopback ports, and
optionally a schema registry (Apicurio, built from Maven Central)."""

from driftline.stack.jars import ensure_kafka_jars
from driftline.stack.local import LocalStack, StackStatus
from driftline.stack.registry_jars import ensure_registry_jar

__all__ = ["LocalStack", "StackStatus", "ensure_kafka_jars", "ensure_registry_jar"]
