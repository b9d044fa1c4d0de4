"""The soak's short form (``make soak`` runs the 30-minute one): every kind of fault once,
in a few minutes, and the same accounting (:mod:`tests.soak.run`), on the plain stack and on
the secured one (SASL_SSL Kafka, TLS Redis with ACLs).

The secured form found two defects, both mended: Redis dropping transactions from its
append-only file with the default user off (tested alone by
``tests/integration/adapters/test_redis_restart_secured.py``), and, one run of seven, a
kafka-python consumer that never fetched a partition again after its leader broker was
restarted, which the worker now notices and mends by renewing its consumer
(``tests/integration/consumers/test_fetch_stall.py``; docs/faults.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from tests.soak.run import SoakOptions, soak
from tests.soak.schedule import KINDS

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("secure", [False, True], ids=["plain", "secured"])
def test_a_few_minutes_of_every_fault_lose_and_double_nothing(
    services: Endpoints, tmp_path: Path, secure: bool
) -> None:
    if services.source != "local-stack":
        pytest.skip("the soak runs a stack of its own: only where the local stack runs")
    out = tmp_path / "soak.json"
    report = soak(
        SoakOptions(
            minutes=4, seed=11, rate=100, gap_s=35, home=tmp_path / "home", out=out, secure=secure
        )
    )
    assert json.loads(out.read_text())["passed"] == report["passed"]
    assert {f["kind"] for f in report["faults"]} == set(KINDS)
    failed = [name for name, held in report["checks"].items() if not held]
    assert not failed, (failed, report["figures"])
