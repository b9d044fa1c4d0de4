"""The ``fuzz`` marker: the fuzz tests run in the normal suite; ``-m "not fuzz"`` skips them."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: fuzz tests of the pure core (tests/fuzz)")
