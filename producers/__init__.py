"""Producers: sources of events and the Kafka publisher."""
