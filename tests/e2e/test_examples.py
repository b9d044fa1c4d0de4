"""examples/, run as a user runs them: each from a copy of its folder outside the repository.

The copy is in ``tmp_path/examples/<name>``; ``python`` and ``driftline`` are the venv's
(the installed package), and the suite's Kafka and Redis are given as a user gives theirs
(``DRIFTLINE_KAFKA_BOOTSTRAP``, ``DRIFTLINE_REDIS_URL``, ``DRIFTLINE_NAMESPACE``), which the
examples read through driftline's settings. The command blocks below are the examples'
READMEs' and README.md's (tests/unit/test_docs_blocks.py checks README.md's;
:func:`test_each_example_readme_runs_what_this_file_runs` the examples'), each run with
``bash -euo pipefail``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.read import PredictionsClient, StoredPrediction
from driftline.stack.processes import free_port
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.e2e.test_docs_commands import run_block
from tests.unit.test_docs_blocks import Block, blocks_of, command_lines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# examples/csv: in one command, and the three steps run.sh runs.
CSV_ONE_COMMAND = """
./run.sh
"""
CSV_STEPS = """
driftline produce csv loans.csv --key customer --time applied_at --label defaulted \\
    --event-id loan_id --outcome-delay 2592000
driftline consume --until-idle 5 --pending-ttl 2678400   # labels may come 31 days later
driftline predictions get C042 --json
"""

# examples/json-topic (and README.md, from the repository's root: cd, then these).
JSON_TOPIC = """
python publish.py        # your app: 400 payments and their outcomes, as JSON
driftline consume --source source.toml --until-idle 5
driftline predictions get card-042 --json
"""
README_JSON_TOPIC = "cd examples/json-topic\n" + JSON_TOPIC

# examples/own-model: from the command line (and README.md: cd, then these), then Python.
OWN_MODEL = """
python publish.py    # 300 orders and their outcomes, into the namespace's events topic
driftline consume --model model:make --features feats:features --until-idle 5
driftline predictions get u042 --json
"""
README_OWN_MODEL = "cd examples/own-model\n" + OWN_MODEL
OWN_MODEL_PY = """
python run.py        # the same from Python: driftline.publish, then driftline.run_worker
"""

# examples/read-app: Python, blocking and asyncio; curl against `driftline serve`.
READ_APPS = """
python app_sync.py C042 C007    # PredictionsClient: one JSON line a key
python app_async.py C042 C007   # AsyncPredictionsClient (redis.asyncio): the same lines
"""
CURL = """
./curl.sh C042 C007
"""

# README.md: reading predictions from your app (the local stack's Redis).
README_READ_PY = """
from driftline import predictions_from_stack

with predictions_from_stack() as client:  # the local stack's Redis, its password read for you
    latest = client.get("C042")  # customer C042's latest prediction, or None
    if latest is not None:
        print(latest.prediction, latest.probability_of(latest.prediction), latest.event_time)
"""

#: Each example's README blocks, as run here (a script's lines: that script holds them).
EXAMPLE_BLOCKS = {
    "csv": [CSV_ONE_COMMAND, CSV_STEPS],
    "json-topic": [JSON_TOPIC],
    "own-model": [OWN_MODEL, OWN_MODEL_PY],
    "read-app": [READ_APPS, CURL],
}


def user_env(services: Endpoints, namespace: str, home: Path) -> dict[str, str]:
    """A user's shell: the venv's ``python`` and ``driftline`` first on the PATH, this
    process's environment without its DRIFTLINE_* variables, then the suite's Kafka, Redis
    and checkpoint key, ``namespace``, and no local stack of its own."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "driftline").is_file(), f"no driftline console script in {venv_bin}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return env | {
        "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        "COLUMNS": "200",
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": namespace,
        "DRIFTLINE_STACK_HOME": str(home / "no-stack"),
    }


def copy_example(name: str, into: Path) -> Path:
    """``examples/<name>`` copied to ``into/examples/<name>`` (outside the repository)."""
    target = into / "examples" / name
    shutil.copytree(EXAMPLES / name, target)
    assert ROOT not in target.parents
    return target


def example_module(path: Path) -> Any:
    """The example's module at ``path``, loaded under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


def stored(services: Endpoints, namespace: str, keys: set[str]) -> dict[str, StoredPrediction]:
    with PredictionsClient.from_url(services.redis_url, namespace) as client:
        return client.get_many(keys)


def learned(services: Endpoints, namespace: str) -> dict[str, int]:
    with PredictionsClient.from_url(services.redis_url, namespace) as client:
        counts: dict[str, int] = client.metrics()["total"]["counts"]
    return counts


@pytest.mark.parametrize("name", sorted(EXAMPLE_BLOCKS))
def test_each_example_readme_runs_what_this_file_runs(name: str):
    """Every command line of an example's README is one this file runs, or one of a script
    it runs (``run.sh``); every block here is in that README."""
    folder = EXAMPLES / name
    sources = [Path(__file__), *folder.glob("*.sh")]  # a continued line reads as one line
    text = " ".join(re.sub(r"\\+\n", " ", path.read_text()) for path in sources)
    held = " ".join(text.split())
    readme = blocks_of((folder / "README.md").read_text(), f"examples/{name}/README.md")
    assert readme, f"examples/{name}/README.md has no command block"
    for block in readme:
        missing = [line for line in command_lines(block) if line not in held]
        assert not missing, f"{block.where}: not run by this test: {missing}"
    shown = {line for block in readme for line in command_lines(block)}
    for text in EXAMPLE_BLOCKS[name]:
        lines = command_lines(Block(f"{name} (here)", 1, "bash", text))
        assert set(lines) <= shown, f"examples/{name}/README.md does not show {lines}"


# -- (a) your CSV to predictions ---------------------------------------------------------

LOANS = [line.split(",") for line in (EXAMPLES / "csv" / "loans.csv").read_text().splitlines()]
CUSTOMERS = {row[1] for row in LOANS[1:]}
LABELLED = sum(1 for row in LOANS[1:] if row[-1])


@pytest.fixture(scope="module")
def csv_run(services: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """examples/csv run once (``./run.sh``) in a namespace of its own; the read-app's
    tests read its predictions."""
    home = tmp_path_factory.mktemp("csv")
    namespace = f"csv{os.urandom(5).hex()}"
    env = user_env(services, namespace, home)
    folder = copy_example("csv", home)
    started = time.monotonic()
    out = run_block(CSV_ONE_COMMAND, env, folder)
    yield {"env": env, "namespace": namespace, "out": out, "home": home, "folder": folder,
           "seconds": time.monotonic() - started}  # fmt: skip


@pytest.mark.e2e
def test_csv_to_predictions_in_one_command(services: Endpoints, csv_run: dict):
    prediction = last_json(csv_run["out"])
    assert prediction["key"] == "C042"
    assert prediction["event_id"] == max(row[0] for row in LOANS[1:] if row[1] == "C042")
    assert set(prediction["probabilities"]) == {"true", "false"}
    assert prediction["positive_probability"] == prediction["probabilities"]["true"]
    namespace = csv_run["namespace"]
    assert set(stored(services, namespace, CUSTOMERS)) == CUSTOMERS  # every customer
    counts = learned(services, namespace)
    assert counts["predictions"] == len(LOANS) - 1
    assert counts["learned"] == LABELLED  # each label, 30 days later, within the 31 days
    # the file is the one make_loans.py writes, and run.sh runs the steps the README shows
    run_block("python make_loans.py", csv_run["env"], csv_run["folder"])
    assert (csv_run["folder"] / "loans.csv").read_bytes() == (
        EXAMPLES / "csv" / "loans.csv"
    ).read_bytes()
    assert csv_run["seconds"] < 120, csv_run["seconds"]


# -- (b) your JSON topic and a mapping file ---------------------------------------------


@pytest.mark.e2e
def test_json_topic_read_through_a_mapping_file(
    services: Endpoints, namespace: str, tmp_path: Path
):
    folder = copy_example("json-topic", tmp_path)
    source = folder / "source.toml"  # topics of this test's own, in the copy
    text = source.read_text()
    for topic in ("payments", "payment-outcomes"):
        text = text.replace(f'"{topic}"', f'"{namespace}.{topic}"')
    source.write_text(text)
    out = run_block(README_JSON_TOPIC, user_env(services, namespace, tmp_path), tmp_path)
    assert "published 800 records" in out
    prediction = last_json(out)
    assert prediction["key"] == "card-042"
    assert set(prediction["probabilities"]) == {"true", "false"}
    records = example_module(folder / "publish.py").records()  # what the app wrote
    cards = {body["card"]["id"] for kind, _, body in records if kind == "observations"}
    assert set(stored(services, namespace, cards)) == cards
    counts = learned(services, namespace)
    assert counts["predictions"] == 400 and counts["learned"] == 400, counts


# -- (d) your model and feature function ------------------------------------------------


@pytest.mark.e2e
def test_own_model_from_the_command_line_and_from_python(
    services: Endpoints, namespace: str, tmp_path: Path
):
    folder = copy_example("own-model", tmp_path)
    out = run_block(README_OWN_MODEL, user_env(services, namespace, tmp_path), tmp_path)
    assert last_json(out)["key"] == "u042"
    python_namespace = f"{namespace}py"
    env = user_env(services, python_namespace, tmp_path)
    figures = last_json(run_block(OWN_MODEL_PY, env, folder))
    assert figures["published"] == 600 and figures["predictions"] == 300
    assert figures["dead_letters"] == 0
    customers = {f"u{n:03d}" for n in range(1, 51)}
    by_cli, by_python = (
        stored(services, namespace, customers),
        stored(services, python_namespace, customers),
    )
    assert len(by_cli) == 49 and set(by_cli) == set(by_python)
    for key, prediction in by_cli.items():  # the same model on the same features
        other = by_python[key]
        assert (prediction.event_id, prediction.prediction) == (other.event_id, other.prediction)
        assert prediction.probabilities is not None and other.probabilities is not None
        for label, probability in prediction.probabilities.items():
            assert math.isclose(probability, other.probabilities[label], abs_tol=1e-9), key
    assert learned(services, namespace)["learned"] == 300
    assert learned(services, python_namespace)["learned"] == 300


@pytest.mark.e2e
def test_the_python_examples_pass_mypy_strict(tmp_path: Path):
    """As a user checks them: from their folders, with no project configuration (one run
    for both folders: each file's folder is where its imports are found)."""
    files = [
        path.relative_to(tmp_path)
        for name in ("own-model", "read-app")
        for path in sorted(copy_example(name, tmp_path).glob("*.py"))
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYPY", "DRIFTLINE_"))}
    # mypy does not follow setuptools' editable finder: the checkout on the path is found as
    # the installed package is (its py.typed read), as in test_typed_app
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy"),
         *map(str, files)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Success: no issues found in {len(files)} source files" in done.stdout


# -- (e) an app reading predictions -----------------------------------------------------


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except OSError:
        return 0


@pytest.mark.e2e
def test_read_app_sync_async_and_curl_agree(services: Endpoints, csv_run: dict, tmp_path: Path):
    folder = copy_example("read-app", tmp_path)
    env = csv_run["env"]
    lines = run_block(READ_APPS, env, folder).splitlines()
    assert len(lines) == 4, lines  # two keys read blocking, then the same two with asyncio
    assert lines[:2] == lines[2:], lines
    first, second = (json.loads(line) for line in lines[:2])
    expected = last_json(csv_run["out"])  # `driftline predictions get C042 --json`
    assert (first["key"], second["key"]) == ("C042", "C007")
    assert first["prediction"] == expected["prediction"]
    assert first["probability"] == expected["probabilities"][json.dumps(expected["prediction"])]
    assert first["positive_probability"] == expected["positive_probability"]

    port = free_port()
    serve_env = env | {"DRIFTLINE_SERVE_PORT": str(port)}
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(["driftline", "serve"], env=serve_env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while _get(f"http://127.0.0.1:{port}/health") != 200:
            assert server.poll() is None and time.monotonic() < deadline, (
                tmp_path / "serve.log"
            ).read_text()[-2000:]
            time.sleep(0.2)  # polling the server's readiness, with a deadline
        lines = run_block(CURL, serve_env, folder).splitlines()  # curl --fail: a 200 each
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert json.loads(lines[0]) == expected
    many = json.loads(lines[1])
    assert set(many["predictions"]) == {"C042", "C007"} and many["missing"] == []


@pytest.mark.e2e
def test_readme_reads_from_the_local_stack(csv_run: dict, local_stack_home: Path):
    """README.md's Python block, on the suite's local stack as the user's own."""
    settings_only = ("DRIFTLINE_KAFKA_BOOTSTRAP", "DRIFTLINE_REDIS_URL", "DRIFTLINE_CHECKPOINT_KEY")
    env = {k: v for k, v in csv_run["env"].items() if k not in settings_only}
    env["DRIFTLINE_STACK_HOME"] = str(local_stack_home)
    out = run_block(README_READ_PY, env, csv_run["home"], python=True)
    expected = last_json(csv_run["out"])
    prediction, probability, _ = out.split(" ", 2)
    assert prediction == str(expected["prediction"])
    assert float(probability) == expected["probabilities"][json.dumps(expected["prediction"])]
