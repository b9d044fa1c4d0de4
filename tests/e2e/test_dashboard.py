"""The dashboard in a real browser (Debian's Chromium, driven by Selenium through
chromedriver) against ``driftline serve`` and a running ``driftline consume`` on the real
local Kafka and Redis: the displayed values match ``driftline metrics --json``, they move
while the worker consumes, a key is looked up, and a screenshot is kept.

``make test`` installs chromium and chromium-driver from Debian's packages
(scripts/install-browser-deps.sh; ``make demo`` does not); where they cannot be installed
the test skips, saying so.
The screenshot is written to ``build/test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints
from tests.e2e.test_cli import DRIFTLINE, last_json, run
from tests.e2e.test_worker_cli import command_env

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1900",
)


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(
            "no chromium and chromedriver on PATH: the dashboard's browser test needs "
            "Debian's chromium and chromium-driver (`make test` installs them where "
            "apt-get can: scripts/install-browser-deps.sh)"
        )
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    return command_env(services, namespace, tmp_path) | {
        # the counts stay put once the worker is idle (no tick moves a watermark)
        "DRIFTLINE_IDLE_WATERMARK_S": "3600",
        "DRIFTLINE_COST_FALSE_NEGATIVE": "5",
    }


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # one file, one offset: two handles on it would write over each other (the answer on
    # standard output, the dashboard's URL on standard error)
    return subprocess.Popen(
        [*DRIFTLINE, *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _until(what: str, check: Any, timeout_s: float = 120.0) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _metrics(env: dict[str, str]) -> dict[str, Any]:
    shown = run(["metrics", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    return last_json(shown.stdout)


def _tile(driver: Any, name: str) -> Any:
    raw = driver.find_element("id", f"v-{name}").get_attribute("data-value")
    return json.loads(raw) if raw else None


def test_the_dashboard_shows_what_driftline_metrics_says(
    env: dict[str, str], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    first = run(["produce", "flights", "--limit", "500", "--partitions", "2", "--json"], env)
    assert first.returncode == 0, first.stderr
    published = last_json(first.stdout)["published"]

    serve_port, worker_port = _free_port(), _free_port()
    worker = _start(["consume", "--metrics-port", str(worker_port)], env, tmp_path / "worker.log")
    server = _start(["serve", "--port", str(serve_port)], env, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{serve_port}/"
    try:
        _until("driftline serve", lambda: _get(url + "health"), 60)
        _until(
            "the worker to read the first flights",
            lambda: _metrics(env)["total"].get("counts", {}).get("records") == published,
        )

        browser.get(url + "?refresh_ms=500")
        wait = WebDriverWait(browser, 60, poll_frequency=0.2)
        wait.until(lambda d: _tile(d, "records") == published)

        # more flights while the page is open: the numbers move without a reload
        more = run(["produce", "flights", "--limit", "1000", "--partitions", "2", "--json"], env)
        assert more.returncode == 0, more.stderr
        total = published + last_json(more.stdout)["published"]
        _until(
            "the worker to read the rest",
            lambda: _metrics(env)["total"]["counts"]["records"] == total,
        )
        wait.until(lambda d: _tile(d, "records") == total)
        wait.until(lambda d: d.find_element("id", "status").get_attribute("data-status") == "ok")

        metrics = _metrics(env)
        shown = metrics["total"]
        wait.until(lambda d: _tile(d, "learned") == shown["counts"]["learned"])
        assert _tile(browser, "predictions") == shown["counts"]["predictions"] == 1000
        assert _tile(browser, "pending") == shown["counts"]["pending"]
        assert _tile(browser, "dead-letters") == sum(shown["dead_letters"].values())
        for tile, name in (
            ("accuracy", "accuracy"),
            ("rolling-accuracy", "rolling_accuracy"),
            ("roc-auc", "roc_auc"),
            ("log-loss", "log_loss"),
            ("baseline", "baseline_accuracy"),
            ("costs", "cost_per_1000"),
        ):
            assert _tile(browser, tile) == shown[name], tile
        assert shown["counts"]["duplicates"] > 0  # the second run repeated the first flights
        quality = shown["quality"]
        for dimension in ("accuracy", "completeness", "consistency", "timeliness"):
            score = quality["dimensions"][dimension]["score"]
            assert _tile(browser, f"q-{dimension}") == score, dimension
        assert quality["dimensions"]["accuracy"]["score"] < 1  # the duplicates
        assert _tile(browser, "q-coverage") == quality["labels"]["coverage"]
        assert _tile(browser, "champion") == ["main"]
        lateness = _tile(browser, "lateness")
        assert lateness == [shown["lateness_seconds"]["p50"], shown["lateness_seconds"]["p99"]]
        # the group's lag counts from committed offsets: 0 once the worker checkpointed
        wait.until(lambda d: _tile(d, "lag") == 0)
        shown_text = browser.find_element("id", "v-accuracy").text
        assert shown_text == f"{shown['accuracy']:.4f}"

        # a key looked up in the box: what `driftline predictions get` says
        expected = last_json(run(["predictions", "get", "EWR", "--json"], env).stdout)
        box = browser.find_element(By.ID, "lookup-key")
        box.clear()
        box.send_keys("EWR")
        browser.find_element(By.ID, "lookup-go").click()
        result = browser.find_element(By.ID, "lookup-result")
        wait.until(lambda d: result.get_attribute("data-key") == "EWR")
        assert result.get_attribute("data-found") == "true"
        assert json.loads(result.text) == expected

        # the charts drew (a canvas each), the event-time series has points
        windows = browser.find_element(By.ID, "chart-windows")
        wait.until(lambda d: int(windows.get_attribute("data-points") or 0) > 0)
        assert len(browser.find_elements(By.CSS_SELECTOR, ".charts canvas")) == 5
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        assert browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        print(f"dashboard screenshot: {shot}")

        box.clear()
        box.send_keys("nowhere")
        browser.find_element(By.ID, "lookup-go").click()
        wait.until(lambda d: result.get_attribute("data-key") == "nowhere")
        assert result.text == "no prediction for nowhere"

        # the worker's own exposition counts the same records
        scraped = _get(f"http://127.0.0.1:{worker_port}/metrics")
        assert scraped is not None
        from prometheus_client.parser import text_string_to_metric_families

        families = {f.name: f for f in text_string_to_metric_families(scraped)}
        assert sum(s.value for s in families["driftline_records"].samples) == total
        assert {
            s.labels["partition"] for s in families["driftline_consumer_lag_records"].samples
        } == {
            "0",
            "1",
        }
        # learning held back by lateness: a red banner from the newest timeliness alert
        banner = browser.find_element(By.ID, "late-banner")
        assert not banner.is_displayed()
        _record_starved_alert(env)
        wait.until(lambda d: banner.is_displayed())
        assert banner.text.startswith("Learning stalled in partition(s) 1: 93% of recent")

        # no script error, no failed load but the lookup of a key that has no prediction
        errors = [
            e["message"]
            for e in browser.get_log("browser")
            if e["level"] == "SEVERE" and "/predictions/nowhere " not in e["message"]
        ]
        assert not errors, errors
    finally:
        _stop(server)
        _stop(worker)


def test_demo_serve_prints_a_url_whose_dashboard_matches_driftline_metrics(
    env: dict[str, str], browser: Any, tmp_path: Path
) -> None:
    """``driftline demo --serve``: the URL is printed before the flights flow, the page
    stays up after the summary, its numbers are `driftline metrics`', Ctrl-C ends it."""
    import signal

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "demo.log"
    demo = _start(["demo", "--limit", "1500", "--serve", "--port", str(port)], env, log)
    try:
        _until("the demo's summary", lambda: f"stays up at {url}" in log.read_text(), 600)
        printed = log.read_text()
        assert f"dashboard: {url}" in printed
        assert printed.index(f"dashboard: {url}") < printed.index("stays up")
        shown = _metrics(env)["total"]
        assert shown["counts"]["predictions"] == 1500
        browser.get(url)
        wait_s = 60
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, wait_s).until(
            lambda d: _tile(d, "records") == shown["counts"]["records"]
        )
        for tile, name in (
            ("accuracy", "accuracy"),
            ("roc-auc", "roc_auc"),
            ("costs", "cost_per_1000"),
        ):
            assert _tile(browser, tile) == shown[name], tile
        assert _tile(browser, "champion")  # the demo's champion, by name
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        _stop(demo)


def _record_starved_alert(env: dict[str, str]) -> None:
    """A ``timeliness`` alert as a task raises it when its inputs come late (issue 19)."""
    from datetime import UTC, datetime

    from driftline.adapters.redis_clients import make_redis
    from driftline.adapters.redis_sink import RedisSink
    from driftline.core.events.records import Alert

    alert = Alert(
        alert_id="1-99-timeliness-late-inputs-starved",
        partition=1,
        offset=99,
        kind="timeliness",
        subject="late-inputs",
        signal="starved",
        detector="late share",
        statistic={"late_share": 0.93, "alarm_share": 0.2, "allowed_lateness_s": 7200.0},
        window=1000,
        event_time=datetime.now(UTC),
        model="main",
        model_version=1,
        action="none",
    )
    client = make_redis(env["DRIFTLINE_REDIS_URL"])
    try:
        RedisSink(client, env["DRIFTLINE_NAMESPACE"]).record([], [alert], [])
    finally:
        client.close()
