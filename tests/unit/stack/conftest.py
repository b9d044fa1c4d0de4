"""A port a stranger holds in these tests is taken for good: no need to wait out the grace a
dying process gets (:data:`driftline.stack.processes.EXIT_GRACE_S`)."""

from __future__ import annotations

import pytest

from driftline.stack import processes


@pytest.fixture(autouse=True)
def _short_exit_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "EXIT_GRACE_S", 0.1)
