"""The fuzz campaign: ``python -m tests.fuzz.run --payloads 1000000 [--seed N] [--engine E]``.

Engines, all feeding :class:`~tests.fuzz.harness.FuzzHarness` with bytes:

* ``atheris`` (the default when it is installed): libFuzzer, coverage-guided over the
  ``pipeline`` package, bounded with ``-runs``; the summary is printed from inside the
  fuzz callback once the payload count is reached, since libFuzzer ends the process;
* ``hypothesis``: ``st.binary()`` in the generate phase only (nothing to shrink: failures
  are counted by the harness, not raised);
* ``random``: ``random.Random(seed)`` bytes, deterministic, the fallback without atheris.

One line sums it up (payloads, records, predictions, outcomes, dead letters by reason,
unhandled exceptions, accounting mismatches, elapsed); the exit status is 1 on any
unhandled exception or mismatch. Failing batches are pickled to ``--artifacts``.
Triggers of defects already filed (``KNOWN_FINDINGS``, reproduced in ``test_found.py``)
are not generated unless ``--include-known``. ``--workers N`` runs N campaigns (seeds
``seed .. seed+N-1``) in parallel and sums them.

>>> stats, elapsed = campaign(200, seed=1)
>>> stats.payloads, stats.unhandled, stats.mismatches
(200, 0, 0)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: atheris must instrument ``pipeline`` as it loads
    from tests.fuzz.harness import CampaignStats, FuzzHarness

__all__ = ["campaign", "main"]

ENGINES = ("atheris", "hypothesis", "random")
MAX_LEN = 4096


def _harness(seed: int, include_known: bool, configs: Sequence[str] | None) -> FuzzHarness:
    from tests.fuzz.harness import KNOWN_FINDINGS, FuzzHarness

    return FuzzHarness(seed=seed, configs=configs, avoid=() if include_known else KNOWN_FINDINGS)


def campaign(
    payloads: int,
    seed: int = 0,
    engine: str = "random",
    include_known: bool = False,
    configs: Sequence[str] | None = None,
) -> tuple[CampaignStats, float]:
    """Run ``payloads`` records through the harness in this process (not atheris)."""
    harness = _harness(seed, include_known, configs)
    start = time.perf_counter()
    if engine == "random":
        rng = random.Random(seed)
        while harness.stats.payloads < payloads:
            data = rng.randbytes(rng.choice([256, 1024, MAX_LEN]))
            harness.run(data, limit=payloads - harness.stats.payloads)
    elif engine == "hypothesis":
        _hypothesis(harness, payloads, seed)
    else:
        raise ValueError(f"engine {engine!r} runs in its own process (see main)")
    return harness.stats, time.perf_counter() - start


def _hypothesis(harness: FuzzHarness, payloads: int, seed: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    chunk = 0
    while harness.stats.payloads < payloads:
        remaining = payloads - harness.stats.payloads

        @hypothesis_seed(seed * 1_000_003 + chunk)
        @settings(
            max_examples=max(1, min(5000, remaining // 4)),
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.binary(min_size=256, max_size=MAX_LEN))  # shorter ones are mostly zeros
        def step(data: bytes) -> None:
            if harness.stats.payloads < payloads:
                harness.run(data, limit=payloads - harness.stats.payloads)

        step()
        chunk += 1


def _atheris(args: argparse.Namespace, artifacts: Path) -> int:
    """libFuzzer until ``args.payloads`` records have run; it never returns (os._exit)."""
    import atheris

    with atheris.instrument_imports(include=["driftline"]):
        harness = _harness(args.seed, args.include_known, args.configs)
    target = args.payloads
    corpus = artifacts / f"corpus-{args.seed}"
    corpus.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    for i in range(64):  # seeds of every size, so the first inputs are not all tiny
        (corpus / f"seed-{i}").write_bytes(rng.randbytes(rng.choice([64, 512, MAX_LEN])))
    start = time.perf_counter()

    def one_input(data: bytes) -> None:
        harness.run(data, limit=target - harness.stats.payloads)
        if harness.stats.payloads >= target:
            code = _report(args, "atheris", harness.stats, time.perf_counter() - start, artifacts)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={2 * target + 1000}",  # every input is at least one record
            f"-seed={args.seed + 1}",  # libFuzzer reads 0 as "pick one"
            f"-max_len={MAX_LEN}",
            "-len_control=0",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=0",
            str(corpus),
        ],
        one_input,
    )
    atheris.Fuzz()
    return 2  # not reached: libFuzzer exits


def _report(
    args: argparse.Namespace,
    engine: str,
    stats: CampaignStats,
    elapsed: float,
    artifacts: Path,
) -> int:
    from tests.fuzz.harness import KNOWN_FINDINGS

    avoided = "none" if args.include_known else ",".join(KNOWN_FINDINGS)
    head = f"fuzz: engine={engine} seed={args.seed} workers={args.workers} avoided={avoided}"
    print(f"{head} {stats.line(elapsed)}", flush=True)
    for kind, count in stats.failure_kinds.most_common():
        print(f"  {count} x {kind}")
    if stats.failures:
        artifacts.mkdir(parents=True, exist_ok=True)
        with open(artifacts / f"failures-{args.seed}.pkl", "wb") as out:
            pickle.dump(stats.failures, out)
        with open(artifacts / f"failures-{args.seed}.txt", "w") as out:
            for failure in stats.failures:
                out.write(f"== {failure.stage} [{failure.config}] {failure.error}\n")
                out.write(failure.trace + "\n")
        print(f"  failing batches: {artifacts}/failures-{args.seed}.(pkl|txt)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(stats.as_dict()))
    unaccounted = stats.payloads - stats.records - stats.ticks
    broken = stats.unhandled or stats.mismatches or unaccounted or stats.payloads < args.payloads
    return 1 if broken else 0


def _parallel(args: argparse.Namespace, engine: str, artifacts: Path) -> int:
    from tests.fuzz.harness import CampaignStats

    share, extra = divmod(args.payloads, args.workers)
    children: list[tuple[subprocess.Popen[bytes], Path, Any]] = []
    start = time.perf_counter()
    for i in range(args.workers):
        summary = artifacts / f"summary-{args.seed + i}.json"
        log = open(artifacts / f"worker-{args.seed + i}.log", "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "tests.fuzz.run", "--engine", engine,
                   "--payloads", str(share + (i < extra)), "--seed", str(args.seed + i),
                   "--artifacts", str(artifacts), "--json-out", str(summary)]  # fmt: skip
        if args.include_known:
            command.append("--include-known")
        if args.configs:
            command += ["--configs", ",".join(args.configs)]
        children.append((subprocess.Popen(command, stdout=log, stderr=log), summary, log))
    total = CampaignStats()
    for child, summary, log in children:
        child.wait()
        log.close()
        if summary.exists():
            total.merge(CampaignStats.from_dict(json.loads(summary.read_text())))
        else:
            total.unhandled += 1
            total.failure_kinds[f"worker exited {child.returncode}, no summary"] += 1
    code = _report(args, engine, total, time.perf_counter() - start, artifacts)
    print(f"  worker logs: {artifacts}/worker-*.log")
    return code


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("--payloads", type=int, default=1_000_000, help="records to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=ENGINES, help="default: atheris if installed")
    parser.add_argument("--workers", type=int, default=1, help="parallel campaigns")
    parser.add_argument("--include-known", action="store_true", help="generate known triggers")
    parser.add_argument("--configs", type=lambda s: s.split(","), help="task configs to cycle")
    parser.add_argument("--artifacts", type=Path, help="where failing batches go")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    engine = args.engine or ("atheris" if _has_atheris() else "random")
    if engine == "atheris" and not _has_atheris():
        parser.error("atheris is not installed (pip install atheris, or --engine random)")
    artifacts = args.artifacts or Path(tempfile.gettempdir()) / f"driftline-fuzz-{os.getpid()}"
    artifacts.mkdir(parents=True, exist_ok=True)
    if args.workers > 1:
        return _parallel(args, engine, artifacts)
    if engine == "atheris":
        return _atheris(args, artifacts)
    stats, elapsed = campaign(args.payloads, args.seed, engine, args.include_known, args.configs)
    return _report(args, engine, stats, elapsed, artifacts)


if __name__ == "__main__":
    sys.exit(main())
