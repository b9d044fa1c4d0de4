"""Whether a home's recorded stack may be started, or used, as asked: the same number of
brokers and Kafka version, the same secured mode, and one Redis or a Redis Cluster as it
was made. Each check refuses with what to do instead (``down --purge``, another home).

>>> home = Path("/h")
>>> cluster_mode(home, {"redis_cluster": True}, wanted=False, secure=False)
True
>>> same_mode_to_start(home, secure=True, wanted=False)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
driftline.core.errors.StackError: the stack in /h was made secured; run 'driftline stack ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftline.core.errors import StackError

__all__ = ["cluster_mode", "same_mode_for_clients", "same_mode_to_start", "same_shape"]


def same_shape(home: Path, state: dict[str, Any], brokers: int, kafka_version: str) -> None:
    """Refuse to start a recorded stack with another number of brokers or Kafka version."""
    known = state.get("brokers", [])
    if known and len(known) != brokers:
        raise StackError(
            f"the stack in {home} has {len(known)} broker(s), not {brokers}; "
            "run 'driftline stack down --purge' first"
        )
    if known and state.get("kafka_version") != kafka_version:
        raise StackError(
            f"the stack in {home} was made with Kafka {state.get('kafka_version')}; "
            "run 'driftline stack down --purge' to start over with "
            f"{kafka_version}"
        )


def same_mode_to_start(home: Path, secure: bool, wanted: bool) -> None:
    """Refuse to start a stack made ``secure`` (or not) the other way (``wanted``)."""
    if secure != wanted:
        made = "secured" if secure else "not secured"
        way = "with" if wanted else "without"
        raise StackError(
            f"the stack in {home} was made {made}; run 'driftline stack down --purge' "
            f"first to start it {way} TLS and SCRAM, or use another DRIFTLINE_STACK_HOME"
        )


def same_mode_for_clients(home: Path, secure: bool, wanted: bool) -> None:
    """Refuse to mix a secured stack with plain clients, or the other way round."""
    if secure == wanted:
        return
    if secure:
        raise StackError(
            f"the local stack in {home} is secured (TLS, SCRAM, Redis ACL): set "
            "DRIFTLINE_STACK_SECURE=1 so that its clients use its certificates and users"
        )
    raise StackError(
        f"the local stack in {home} is not secured: unset DRIFTLINE_STACK_SECURE, or "
        "run 'driftline stack down --purge' and 'driftline stack up --secure'"
    )


def cluster_mode(home: Path, state: dict[str, Any], wanted: bool, secure: bool) -> bool:
    """Whether this ``up`` runs a Redis Cluster: when asked, or when the home has one."""
    if state.get("redis_cluster"):
        return True
    if not wanted:
        return False
    if secure:
        raise StackError(
            "a secured stack runs one Redis: '--redis-cluster' and '--secure' do not go together"
        )
    if state.get("redis"):
        raise StackError(
            f"the stack in {home} runs one Redis; run 'driftline stack down --purge' first to "
            "start it with a Redis Cluster, or use another DRIFTLINE_STACK_HOME"
        )
    return True
