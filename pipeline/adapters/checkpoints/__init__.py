"""Checkpoint storage: files, keys and the Redis and file stores."""
