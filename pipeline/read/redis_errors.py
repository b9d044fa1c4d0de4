"""What a Redis failure is to a reader: a :class:`~driftline.core.errors.ServiceUnavailable`
that says whether Redis did not answer or refused the client's password, never the password.

>>> import redis
>>> str(unavailable(redis.TimeoutError("Timeout reading from socket")))
'Redis did not answer: TimeoutError'
>>> str(unavailable(redis.AuthenticationError("Authentication required.")))[:52]
'Redis refused the client: authentication failed (NOA'
"""

from __future__ import annotations

import redis

from driftline.adapters.redis_clients import authentication_failed
from driftline.core.errors import ServiceUnavailable

__all__ = ["UNREACHABLE", "unavailable"]

#: What a Redis that is down, unreachable or refusing the client raises (a cluster adds its
#: own); :class:`redis.AuthenticationError` is a :class:`redis.ConnectionError`.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterDownError)


def unavailable(exc: Exception) -> ServiceUnavailable:
    """The error a reader raises (``from exc``) for one of :data:`UNREACHABLE`."""
    if isinstance(exc, redis.AuthenticationError):
        return ServiceUnavailable(f"Redis refused the client: {authentication_failed(exc)}")
    return ServiceUnavailable(f"Redis did not answer: {type(exc).__name__}")
