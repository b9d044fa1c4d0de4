"""Adapters shared by producers and consumers: how driftline reaches the outside.

Settings (read once at the entry point, grouped by concern), the Kafka client factory and
topic admin, Redis clients, the Redis key schema and the stored-prediction codec,
checkpoint stores, and where the services are (endpoints). They import the core only.
"""

__all__: list[str] = []
