"""An application that reads predictions passes ``mypy --strict``: driftline ships its types.

The ``py.typed`` marker (PEP 561) tells a user's mypy that the installed ``driftline`` is
typed; without it mypy skips the package ("module is installed, but missing library stubs
or py.typed marker") and everything read from it is ``Any``. The app below is checked from
a folder of its own, with the venv's mypy and no project configuration, as a user would;
a second module with a type error shows that the types really are read (mypy must find it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

USER_APP = '''\
"""Read the latest prediction of a key, blocking and with await."""

from __future__ import annotations

import asyncio
import json

from driftline.app.connect import async_predictions_from_stack, predictions_from_stack
from driftline.read import AsyncPredictionsClient, PredictionsClient, StoredPrediction


def own_probability(found: StoredPrediction) -> float | None:
    if found.probabilities is not None:
        assert found.probabilities.get(json.dumps(found.prediction)) == found.probability_of(
            found.prediction
        )
    return found.probability_of(found.prediction)


def blocking(url: str) -> float | None:
    with PredictionsClient.from_url(url, "driftline", timeout_s=5.0) as client:
        found = client.get("EWR")
        many: dict[str, StoredPrediction] = client.get_many(["EWR", "JFK"])
        print(len(many), client.metrics()["total"])
        for entry in client.follow(from_start=True, stop=lambda: True):
            print(entry.key, entry.positive_probability)
    return None if found is None else own_probability(found)


async def awaited(url: str) -> float | None:
    async with AsyncPredictionsClient.from_url(url, cluster=False) as client:
        found = await client.get("EWR")
        async for entry in await client.follow(block_ms=100, stop=lambda: True):
            print(entry.id, entry.format)
    return None if found is None else found.positive_probability


def from_the_stack() -> None:
    with predictions_from_stack() as client:
        print(client.freshness())
    asyncio.run(async_predictions_from_stack(namespace="driftline").aclose())


if __name__ == "__main__":
    print(blocking("redis://:PASSWORD@127.0.0.1:6379/0"))
    print(asyncio.run(awaited("redis://:PASSWORD@127.0.0.1:6379/0")))
'''

WRONG_APP = """\
from __future__ import annotations

from driftline.read import PredictionsClient


def score(client: PredictionsClient) -> float:
    return client.get("EWR")
"""


def test_the_package_data_ships_the_marker() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["driftline"]
    assert "py.typed" in package_data
    assert (ROOT / "driftline" / "py.typed").is_file()


def test_an_app_reading_predictions_passes_mypy_strict(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(USER_APP)
    (tmp_path / "wrong.py").write_text(WRONG_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYPY", "DRIFTLINE_"))}
    env["PYTHONPATH"] = str(ROOT)  # the checkout, found as an installed package is
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"),
         "app.py", "wrong.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[0] for line in errors] == ["wrong.py"], done.stdout + done.stderr
    assert 'Incompatible return value type (got "StoredPrediction | None"' in errors[0]
