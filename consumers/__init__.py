"""Consumers: the worker side (reading events back; the online worker)."""
