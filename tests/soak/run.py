"""A soak run: three brokers and Redis of its own, a paced producer, two ``driftline
consume`` workers in one group and ``driftline serve``, under a seeded fault schedule
(:mod:`tests.soak.schedule`); then an accounting over the whole log.

What it checks at the end (each a line of the report's ``checks``, all must hold):
- every acknowledged event is in the topic exactly once;
- every observation predicted exactly once in the final state: the tasks' counts
  (observations = predictions = the topic's observations, no duplicate, no dead letter)
  and every observation in the prediction stream, a replay's repeats carrying the same
  values;
- every outcome learned exactly once (the tasks' outcome count is the topic's);
- the models' digests in the final checkpoints equal to those of one uninterrupted pass
  over the same log (``driftline replay``'s re-run, in a namespace of its own), and every
  stored prediction equal to that pass's;
- no dead letter or alert published twice with the same id;
- RSS of the workers and the checkpoints' size flat: the peak of the last quarter within
  5% of the third quarter's.

It writes the fault table (each fault, when, on what, held how long, and how long the
group took to catch up with what was acknowledged when the fault ended) and the curves as
JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.settings import Settings, StackSettings
from driftline.adapters.topics import prepare_topics
from driftline.app.namespace import prepare_namespace
from driftline.consumers.rerun import rerun
from driftline.core.task.seal import CheckpointCodec
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.read.tail import read_events
from driftline.stack import LocalStack
from tests.integration.three_brokers import (
    OWN_CHECKPOINT_KEY,
    Publishing,
    broker_pids,
    driftline,
    endpoints,
    fully_in_sync,
    log,
    metric_totals,
    own_env,
    own_settings,
    read_topic,
    restart,
    sigkill,
    wait_for,
)
from tests.soak.schedule import Fault, draw_schedule

__all__ = ["SoakOptions", "soak"]

PARTITIONS = 6
SESSION_TIMEOUT_S = 6
#: The bounds of a task's state that grow with the data, shrunk so that the state reaches
#: its steady size within minutes: the dedupe and conflict windows (by default 200,000 ids
#: a partition) and the label history (by default 2,000,000 labels, a year of flights in
#: one partition). With the history's default bound the first 30-minute run saw the
#: checkpoints grow 9% over its last half; with 20,000 labels, 11% (a partition learns
#: about 20,000 outcomes in the whole run: the bound was reached only at its end). Cancelled
#: flights are labelled delayed (not left unlabelled), so no observation waits for an
#: outcome that never comes until the pending store's week-long TTL takes it.
DEDUPE_SIZE = 3_000
HISTORY_LABELS = 3_000
FLAT_WITHIN = 0.05


@dataclass
class SoakOptions:
    minutes: float = 30.0
    seed: int = 7
    rate: int = 150  # events a second, observations and outcomes together
    gap_s: float = 60.0  # about one fault this often
    home: Path | None = None
    out: Path = Path("soak.json")
    secure: bool = False  # on ``stack up --secure``: SASL_SSL Kafka, TLS Redis


@dataclass
class Group:
    """The worker processes (``w1``, ``w2``, and ``w3`` while it is in) and ``serve``."""

    env: dict[str, str]
    logs: Path
    workers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    serve: subprocess.Popen[bytes] | None = None
    serve_port: int = 0

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as stream:
            self.workers[name] = subprocess.Popen(
                driftline("consume", "--json"),
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=stream,
                text=True,
            )

    def start_serve(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.serve_port = s.getsockname()[1]
        with (self.logs / "serve.log").open("ab") as stream:
            self.serve = subprocess.Popen(
                driftline("serve", "--port", str(self.serve_port)),
                env=self.env,
                stdout=stream,
                stderr=stream,
            )

    def check_alive(self) -> None:
        for name, process in self.workers.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"worker {name} exited ({process.returncode}):\n{tail}")

    def stop(self, name: str, timeout_s: float = 120) -> int:
        """SIGTERM ``name``; its exit status once it has stopped."""
        process = self.workers.pop(name)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=timeout_s)
        return process.returncode

    def kill_all(self) -> None:
        for process in [*self.workers.values(), self.serve]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    def ready(self) -> bool | None:
        """``serve``'s readiness (``None``: it did not answer)."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.serve_port}/readyz", timeout=2
            ) as reply:
                return bool(reply.status == 200)
        except OSError:
            return None


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


class Soak:
    def __init__(self, options: SoakOptions, home: Path) -> None:
        self.options = options
        self.stack = LocalStack(
            StackSettings(home=home / "stack", brokers=3, kafka_heap="384m", secure=options.secure)
        )
        self.home = home
        self.samples: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.began = time.monotonic()
        self.sampling = threading.Event()

    # -- set-up ---------------------------------------------------------------------------
    def settings(self, namespace: str) -> Settings:
        return own_settings(
            self.stack,
            namespace,
            partitions=PARTITIONS,
            dedupe_size=DEDUPE_SIZE,
            conflict_window=DEDUPE_SIZE,
            history_max_labels=HISTORY_LABELS,
            stream_maxlen=10_000_000,
        )

    def env(self, settings: Settings) -> dict[str, str]:
        return own_env(
            self.stack,
            settings,
            DRIFTLINE_DEDUPE_SIZE=str(DEDUPE_SIZE),
            DRIFTLINE_CONFLICT_WINDOW=str(DEDUPE_SIZE),
            DRIFTLINE_HISTORY_MAX_LABELS=str(HISTORY_LABELS),
            DRIFTLINE_STREAM_MAXLEN="10000000",
            DRIFTLINE_CHECKPOINT_EVERY="500",
            DRIFTLINE_CHECKPOINT_INTERVAL_S="2",
            DRIFTLINE_SESSION_TIMEOUT_MS=str(SESSION_TIMEOUT_S * 1000),
            DRIFTLINE_MAX_POLL_RECORDS="500",
        )

    def now(self) -> float:
        return time.monotonic() - self.began

    # -- what the run watches -------------------------------------------------------------
    def processed(self, settings: Settings) -> int | None:
        try:  # with a short timeout: Redis may be stopped
            client = make_redis(endpoints(self.stack).redis_url, timeout_s=2)
            try:
                raw = client.hgetall(f"{settings.namespace}:metrics")
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - Redis down or stopped: no figure now
            return None
        totals: Counter[str] = Counter()
        for value in raw.values():
            totals.update(json.loads(value)["counts"])
        return totals["observations"] + totals["outcomes"]

    def checkpoint_bytes(self, settings: Settings) -> int | None:
        keys = RedisKeys(settings.namespace)
        try:
            client = make_redis(endpoints(self.stack).redis_url, timeout_s=2)
            try:
                pipe = client.pipeline(transaction=False)
                for partition in range(PARTITIONS):
                    pipe.strlen(keys.checkpoint(partition))
                return sum(int(n) for n in pipe.execute())
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - Redis down or stopped
            return None

    def stream_length(self, settings: Settings) -> int | None:
        """How many entries the prediction stream holds now (``None``: Redis is down)."""
        try:
            client = make_redis(endpoints(self.stack).redis_url, timeout_s=2)
            try:
                return int(client.xlen(RedisKeys(settings.namespace).predictions_stream))
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - Redis down or stopped
            return None

    def sample(self, group: Group, settings: Settings) -> None:
        while not self.sampling.wait(5.0):
            rss = {
                name: rss_mb(p.pid) for name, p in list(group.workers.items()) if p.poll() is None
            }
            self.samples.append(
                {
                    "t_s": round(self.now(), 1),
                    "rss_mb": {k: round(v, 1) for k, v in rss.items() if v is not None},
                    "checkpoint_bytes": self.checkpoint_bytes(settings),
                    "processed": self.processed(settings),
                    "ready": group.ready(),
                }
            )

    # -- faults ---------------------------------------------------------------------------
    def inject(self, fault: Fault, group: Group, settings: Settings) -> None:
        stop = threading.Event()  # a fault's hold is its duration, not a synchronisation
        kafka = settings.kafka
        if fault.kind == "worker_kill":
            sigkill(group.workers[fault.target].pid)
            stop.wait(fault.hold_s)
            group.start(fault.target)
        elif fault.kind == "worker_pause":
            process = group.workers[fault.target]
            process.send_signal(signal.SIGSTOP)
            stop.wait(fault.hold_s)
            process.send_signal(signal.SIGCONT)
        elif fault.kind == "broker_kill":
            node = int(fault.target)
            sigkill(broker_pids(self.stack)[node])
            stop.wait(fault.hold_s)
            restart(self.stack, kafka, [settings.topics.events], node)
        elif fault.kind == "redis_stop":
            pid = int(self.stack.status().redis["pid"])  # type: ignore[index]
            os.kill(pid, signal.SIGSTOP)
            stop.wait(fault.hold_s)
            os.kill(pid, signal.SIGCONT)
        elif fault.kind == "redis_shutdown":
            pid = int(self.stack.status().redis["pid"])  # type: ignore[index]
            before = self.stream_length(settings)
            client = make_redis(endpoints(self.stack).redis_url)
            try:
                client.shutdown()  # Redis writes its append-only file and exits
            except redis.ResponseError:  # NOPERM: a secured stack's user is no administrator
                os.kill(pid, signal.SIGTERM)  # the same shutdown, asked of the process
            except Exception:  # noqa: BLE001, S110 - the connection closes as Redis exits
                pass
            wait_for(lambda: rss_mb(pid) is None, 60, "Redis to shut down")
            stop.wait(fault.hold_s)
            self.stack.up(brokers=3)
            after = self.stream_length(settings)
            log(f"  the prediction stream held {before} entries, {after} after")
        elif fault.kind == "rebalance":
            group.start("w3")
            stop.wait(fault.hold_s)
            status = group.stop("w3")
            if status != 0:
                raise AssertionError(f"the third worker left with status {status}")
        else:
            raise ValueError(fault.kind)

    # -- the run --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        options = self.options
        duration_s = options.minutes * 60
        schedule = draw_schedule(options.seed, duration_s, SESSION_TIMEOUT_S, gap_s=options.gap_s)
        log(f"soak: {options.minutes:g} min, seed {options.seed}, {len(schedule)} faults")
        self.stack.up(brokers=3)
        settings = self.settings("soak")
        prepare_topics(settings.kafka, settings.namespace)
        wait_for(lambda: fully_in_sync(settings.kafka, [settings.topics.events]), 60, "the topic")
        flights = int(options.rate * duration_s * 0.7) + 1_000  # two events a flight
        plan = ReplayPlan(delay=ArrivalDelay(mean_s=120, max_s=900), seed=options.seed)
        source = flight_events(limit=flights, key_by="route", cancelled="delayed")
        events = [t.event for t in plan.schedule(source)]
        publishing = Publishing(settings, events, chunk=max(1, options.rate // 5), pace_s=0.2)
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        group = Group(self.env(settings), logs)
        group.start_serve()
        group.start("w1")
        group.start("w2")
        feeder = threading.Thread(target=publishing.run, name="publisher")
        sampler = threading.Thread(target=self.sample, args=(group, settings), name="sampler")
        self.began = time.monotonic()
        feeder.start()
        sampler.start()
        try:
            for fault in schedule:
                pause = threading.Event()
                while self.now() < fault.at_s:
                    group.check_alive()
                    pause.wait(min(1.0, fault.at_s - self.now()))
                injected = self.now()
                log(f"fault at {injected:.0f} s: {fault.kind} {fault.target} ({fault.hold_s} s)")
                self.inject(fault, group, settings)
                ended = self.now()
                target = len(publishing.acknowledged)

                def caught_up(target: int = target) -> bool:
                    group.check_alive()
                    done = self.processed(settings)
                    return done is not None and done >= target

                recovery = wait_for(caught_up, 600, f"the group to recover from {fault.kind}")
                self.faults.append(
                    fault.to_dict()
                    | {
                        "injected_s": round(injected, 1),
                        "ended_s": round(ended, 1),
                        "recovery_s": round(recovery, 1),
                    }
                )
                log(f"  caught up with {target:,} acknowledged events in {recovery:.1f} s")
            pause = threading.Event()
            while self.now() < duration_s:
                group.check_alive()
                pause.wait(min(1.0, duration_s - self.now()))
        finally:
            publishing.finish.set()
            feeder.join(timeout=300)
        log(f"published {publishing.sent:,}: {len(publishing.acknowledged):,} acknowledged")
        in_topic = read_topic(settings.kafka, settings.topics.events)

        def all_processed() -> bool:
            group.check_alive()
            return (self.processed(settings) or 0) >= len(in_topic)

        wait_for(all_processed, 600, "every event to be processed")
        self.sampling.set()
        sampler.join(timeout=60)
        statuses = {name: group.stop(name) for name in list(group.workers)}
        group.kill_all()
        report = self.account(settings, publishing, in_topic, statuses)
        report |= {"options": {k: str(v) for k, v in vars(options).items()}}
        report |= {"faults": self.faults, "samples": self.samples}
        return report

    # -- the accounting -------------------------------------------------------------------
    def account(
        self,
        settings: Settings,
        publishing: Publishing,
        in_topic: list[Any],
        statuses: dict[str, int],
    ) -> dict[str, Any]:
        redis_url = endpoints(self.stack).redis_url
        checks: dict[str, bool] = {}
        figures: dict[str, Any] = {"worker_exit_statuses": statuses}
        checks["workers stopped cleanly"] = set(statuses.values()) == {0}

        copies = Counter((e.kind, e.event_id) for e in in_topic)
        acknowledged = {(d.kind, d.event_id) for d in publishing.acknowledged}
        figures |= {
            "events_in_topic": len(in_topic),
            "acknowledged": len(publishing.acknowledged),
            "failed_publishes": len(publishing.failed),
        }
        checks["every acknowledged event in the topic exactly once"] = (
            acknowledged <= copies.keys() and max(copies.values()) == 1
        )
        observations = {i for kind, i in copies if kind == "observation"}
        outcomes = len(copies) - len(observations)
        totals = metric_totals(redis_url, settings.namespace)
        figures["task_counts"] = dict(totals)
        checks["every observation predicted exactly once (task counts)"] = (
            totals["observations"] == totals["predictions"] == len(observations)
            and totals["duplicates"] == 0
        )
        checks["every outcome learned exactly once or dead-lettered"] = (
            totals["outcomes"] == outcomes
        )
        live = stream_values(redis_url, settings.namespace)
        figures["stream_entries"] = sum(len(v) for v in live.values())
        figures["stream_entries_repeated_by_replays"] = figures["stream_entries"] - len(live)
        checks["every observation in the prediction stream, repeats identical"] = (
            bool(observations)
            and live.keys() == observations
            and all(len(set(v)) == 1 for v in live.values())
        )

        # One uninterrupted pass over the same log, in a namespace of its own.
        log("the uninterrupted pass over the whole log")
        reference = self.settings("soak-reference")
        prepare_namespace(reference, endpoints(self.stack), fresh=True)
        result = rerun(settings, reference, endpoints(self.stack))
        figures["reference_pass"] = result.to_dict()
        ours = model_digests(redis_url, settings)
        theirs = model_digests(redis_url, reference)
        figures["model_digests"] = {"live": ours, "uninterrupted": theirs}
        checks["models' digests equal to one uninterrupted pass"] = (
            len(ours) == PARTITIONS and ours == theirs
        )
        passed = stream_values(redis_url, reference.namespace)
        checks["every prediction equal to the uninterrupted pass's"] = {
            k: v[0] for k, v in live.items()
        } == {k: v[0] for k, v in passed.items()}
        # what differs, if anything: a few of each kind, to start from
        missing = observations - live.keys()
        where = positions(settings, missing) if missing else {}
        figures["stream_differences"] = {
            "not_in_stream": len(missing),
            "not_in_stream_at": sorted(where.values())[:40],
            "not_observed": sorted(live.keys() - observations)[:5],
            "repeats_that_differ": {k: v for k, v in live.items() if len(set(v)) > 1}
            if len(live) < 1_000_000
            else {},
            "unlike_the_uninterrupted_pass": {
                k: {"live": live[k], "uninterrupted": passed.get(k)}
                for k in sorted(live)
                if passed.get(k, [None])[0] != live[k][0]
            },
        }
        for name, found in figures["stream_differences"].items():
            if isinstance(found, dict) and len(found) > 5:
                figures["stream_differences"][name] = dict(list(found.items())[:5]) | {
                    "count": len(found)
                }

        for topic in (settings.topics.dead_letter, settings.topics.alerts):
            ids = Counter(output_ids(settings, topic))
            figures[f"{topic} ids"] = {"published": sum(ids.values()), "distinct": len(ids)}
            checks[f"no id published twice on {topic}"] = all(n == 1 for n in ids.values())

        figures["flatness"] = flatness(self.samples)
        for name, ratio in figures["flatness"].items():
            checks[f"{name} flat over the last half (within 5%)"] = (
                ratio is not None and ratio <= 1 + FLAT_WITHIN
            )
        return {"passed": all(checks.values()), "checks": checks, "figures": figures}


def stream_values(redis_url: str, namespace: str) -> dict[str, list[tuple[str, ...]]]:
    """Each observation's entries in the prediction stream: its stored values, in order."""
    client: Any = make_redis(redis_url)
    found: dict[str, list[tuple[str, ...]]] = {}
    try:
        last = "-"
        while True:
            entries = client.xrange(f"{namespace}:predictions", min=last, count=10_000)
            if last != "-":
                entries = entries[1:]
            if not entries:
                return found
            for _entry_id, fields in entries:
                values = {k.decode(): v.decode() for k, v in fields.items()}
                found.setdefault(values["event_id"], []).append(
                    tuple(
                        values.get(name, "")
                        for name in (
                            "prediction",
                            "probabilities",
                            "model",
                            "model_version",
                            "decision",
                            "config",
                        )
                    )
                )
            last = entries[-1][0].decode()
    finally:
        client.close()


def positions(settings: Settings, ids: set[str]) -> dict[str, tuple[int, int]]:
    """Where the observations ``ids`` sit in the events topic: (partition, offset)."""
    consumer = make_consumer(settings.kafka, enable_auto_commit=False)
    try:
        return {
            r.event.event_id: (r.partition, r.offset)
            for r in read_events(consumer, settings.topics.events, last=None, idle_timeout_s=1.0)
            if r.event is not None
            and getattr(r.event, "kind", None) == "observation"
            and getattr(r.event, "event_id", None) in ids
        }
    finally:
        consumer.close()


def model_digests(redis_url: str, settings: Settings) -> dict[int, str]:
    """Each partition's model digest, as its latest checkpoint's verified header says."""
    codec = CheckpointCodec(OWN_CHECKPOINT_KEY.encode())
    keys = RedisKeys(settings.namespace)
    client: Any = make_redis(redis_url)
    try:
        out = {}
        for partition in range(PARTITIONS):
            blob = client.get(keys.checkpoint(partition))
            if blob is not None:
                out[partition] = str(codec.header(blob)["model_digest"])
        return out
    finally:
        client.close()


def output_ids(settings: Settings, topic: str) -> list[str]:
    """The ``driftline.id`` header of every record of ``topic``, read to its end."""
    consumer = make_consumer(settings.kafka, enable_auto_commit=False)
    try:
        from kafka import TopicPartition

        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not parts:
            return []
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        ids = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    headers = dict(record.headers or [])
                    ids.append(headers.get("driftline.id", b"").decode())
        return ids
    finally:
        consumer.close()


def flatness(samples: list[dict[str, Any]]) -> dict[str, float | None]:
    """Peak of the last quarter over the peak of the third (``None``: no figure).

    >>> flatness([{"t_s": t, "rss_mb": {"w1": 100 + t / 100}, "checkpoint_bytes": 10}
    ...           for t in range(0, 400, 5)])
    {'workers RSS': 1.01, 'checkpoint size': 1.0}
    """
    if not samples:
        return {"workers RSS": None, "checkpoint size": None}
    end = samples[-1]["t_s"]
    third = [s for s in samples if end / 2 <= s["t_s"] < 3 * end / 4]
    last = [s for s in samples if s["t_s"] >= 3 * end / 4]

    def peak(rows: list[dict[str, Any]], of: Any) -> float | None:
        values = [v for v in (of(s) for s in rows) if v]
        return max(values) if values else None

    out: dict[str, float | None] = {}
    for name, of in (
        ("workers RSS", lambda s: max(s["rss_mb"].values(), default=None)),
        ("checkpoint size", lambda s: s["checkpoint_bytes"]),
    ):
        a, b = peak(third, of), peak(last, of)
        out[name] = round(b / a, 3) if a and b else None
    return out


def soak(options: SoakOptions) -> dict[str, Any]:
    """Run the soak in ``options.home`` (a temporary folder if ``None``); the report."""
    import tempfile

    with contextlib.ExitStack() as stack:
        home = options.home or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        run = Soak(options, home)
        try:
            report = run.run()
        finally:
            run.stack.down()
            redis_log = home / "stack" / "redis" / "redis.log"
            if redis_log.exists() and (home / "logs").is_dir():
                shutil.copy(redis_log, home / "logs" / "redis.log")  # kept with the workers'
            run.stack.down(purge=True)
        options.out.write_text(json.dumps(report, indent=2))
        return report
