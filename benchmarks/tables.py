"""The bench's printed tables: throughput per workload, ``--processes`` 1 and N, targets.

The JSON report (``--json``) holds every figure; these tables show the ones issue 23
asks for, each target with its measured value and whether it is met.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_tables", "processes_table", "targets_table", "throughput_table"]


def print_tables(report: dict[str, Any], checkpoint_share: float) -> None:
    """Every table of ``report`` to standard output."""
    console = Console()
    console.print(throughput_table(report["results"]))
    if report.get("processes"):
        console.print(processes_table(report["processes"]))
    console.print(targets_table(report, checkpoint_share))


def throughput_table(results: list[dict[str, Any]]) -> Table:
    table = Table(
        title="driftline throughput: records/s (in brackets: the worker's rate over this one)"
    )
    table.add_column("pipeline")
    for result in results:
        table.add_column(result["workload"], justify="right")
    names = list(dict.fromkeys(name for r in results for name in r["records_per_s"]))
    for name in names:
        cells = []
        for result in results:
            rate = result["records_per_s"].get(name)
            worker = result["records_per_s"]["worker"]
            share = f" ({worker / rate:.2f}x)" if name != "worker" and rate else ""
            cells.append("-" if rate is None else f"{rate:,}{share}")
        table.add_row(name.replace("_", " "), *cells)
    ratios = list(dict.fromkeys(name for r in results for name in r["ratios"]))
    for ratio in ratios:
        table.add_row(
            ratio.replace("_", " "),
            *[f"{r['ratios'][ratio]:.2f}" if ratio in r["ratios"] else "-" for r in results],
        )
    if any("keeps_up_with" in r for r in results):
        table.add_row(
            "demo replay kept up with", *[_replay(r.get("keeps_up_with")) for r in results]
        )
    table.add_row(
        "checkpoint share",
        *[f"{r['checkpoints']['share_of_worker_time']:.1%}" for r in results],
    )
    table.add_row("Redis CPU, us a record: worker / lean loop", *[_redis_cpu(r) for r in results])
    table.add_row(
        "worker's floor, us a record: task + reading + Redis wait + outputs + checkpoints",
        *[_floor(r) for r in results],
    )
    return table


def _floor(result: dict[str, Any]) -> str:
    """The kafka-python worker's floor in parts (:mod:`benchmarks.floor`).

    >>> _floor({"floor_us_per_record": {"worker": {"task_alone": 27.61, "reading": 5.1,
    ...     "waiting_for_redis": 9.0, "outputs": 3.0, "checkpoints": 1.5, "floor": 46.21}}})
    '27.6 + 5.1 + 9.0 + 3.0 + 1.5 = 46.2'
    >>> _floor({})
    '-'
    """
    parts = (result.get("floor_us_per_record") or {}).get("worker")
    if not parts:
        return "-"
    shown = " + ".join(f"{v:.1f}" for k, v in parts.items() if k != "floor")
    return f"{shown} = {parts['floor']:.1f}"


def _redis_cpu(result: dict[str, Any]) -> str:
    """What the worker's writes cost Redis a record beside the lean loop's.

    >>> _redis_cpu({"redis_cpu_us_per_record": {"worker": 24.51, "lean_loop": 2.04}})
    '24.5 / 2.0'
    >>> _redis_cpu({})
    '-'
    """
    cpu = result.get("redis_cpu_us_per_record") or {}
    if "worker" not in cpu or "lean_loop" not in cpu:
        return "-"
    return f"{cpu['worker']:.1f} / {cpu['lean_loop']:.1f}"


def _replay(speed: dict[str, float] | None) -> str:
    """The demo's replay speed a worker keeps up with, in short.

    >>> _replay({"flights_per_s": 1000.0, "speed": 93578.0, "year_in_min": 5.6})
    '1,000 flights/s (a year in 5.6 min)'
    """
    if not speed:
        return "-"
    return f"{speed['flights_per_s']:,.0f} flights/s (a year in {speed['year_in_min']} min)"


def processes_table(section: dict[str, Any]) -> Table:
    """``consume --processes 1`` and N beside the bare and lean loops' 1 and N processes."""
    n = section["processes"]
    rates, scaling = section["records_per_s"], section["scaling"]
    table = Table(
        title=f"driftline consume --processes 1 and {n} on synthetic, {n} partitions "
        "(records/s, first to last prediction)"
    )
    for column in ("pipeline", "records/s, 1", f"records/s, {n}", f"{n} / 1"):
        table.add_column(column, justify="right")
    table.add_row(
        "worker", f"{rates['worker_1']:,}", f"{rates[f'worker_{n}']:,}", f"{scaling['worker']}"
    )
    table.add_row(
        "bare loop", f"{rates['bare_1']:,}", f"{rates[f'bare_{n}']:,}", f"{scaling['bare_loop']}"
    )
    table.add_row(
        "lean loop", f"{rates['lean_1']:,}", f"{rates[f'lean_{n}']:,}", f"{scaling['lean_loop']}"
    )
    table.add_row(
        "scale-out efficiency (worker / bare loop)", "", "", f"{section['target']['measured']}"
    )
    table.add_row(
        "lean loop / bare loop (data: with Kafka and Redis on the same cores)",
        "",
        "",
        f"{section['lean_loop_efficiency']}",
    )
    busy, bound = section.get("busy_cores") or {}, section.get("cpu_bound") or {}
    if busy.get("worker_1") is not None:
        table.add_row(
            f"cores busy (of {bound.get('cores')}): worker, lean loop",
            f"{busy.get('worker_1')}, {busy.get('lean_1')}",
            f"{busy.get(f'worker_{n}')}, {busy.get(f'lean_{n}')}",
            "",
        )
        table.add_row(
            "efficiency the cores allow the worker (cores / busy with 1, over bare)",
            "",
            "",
            f"{bound.get('worker_efficiency_at_most')}",
        )
    return table  # fmt: skip


def targets_table(report: dict[str, Any], checkpoint_share: float) -> Table:
    """Every target of issue 23 with what this run measured."""
    table = Table(
        title="targets (issue 23); the floor allows: the best ratio above the worker's floor"
    )
    for column in ("measurement", "target", "measured", "", "the floor allows"):
        table.add_column(column)
    for result in report["results"]:
        for target in result.get("targets", []):
            measured, met = target["measured"], target["met"]
            table.add_row(
                f"{result['workload']}: {target['ratio']}",
                f">= {target['at_least']}",
                "not run: " + ", ".join(target["not_run"])
                if measured is None
                else f"{measured:.2f}",
                "-" if met is None else "met" if met else "MISSED",
                _allows(target),
            )
        checkpoints = result.get("checkpoints")
        if checkpoints:
            share = checkpoints["share_of_worker_time"]
            table.add_row(
                f"{result['workload']}: checkpoint share of the worker's time",
                f"<= {checkpoint_share:.0%}",
                f"{share:.1%}",
                "met" if share <= checkpoint_share else "MISSED",
            )
    for name in ("latency", "startup", "processes", "memory"):
        target = (report.get(name) or {}).get("target")
        if target:
            table.add_row(*_section_target(name, target))
    return table


def _allows(target: dict[str, Any]) -> str:
    """The best ratio the worker's floor leaves, and whether that is below the target.

    >>> _allows({"at_least": 0.85, "floor_allows": 0.71})
    '0.71: beyond reach'
    >>> _allows({"at_least": 0.85, "floor_allows": 0.9})
    '0.90'
    >>> _allows({"at_least": 0.85})
    '-'
    """
    allows = target.get("floor_allows")
    if allows is None:
        return "-"
    return f"{allows:.2f}" + (": beyond reach" if allows < target["at_least"] else "")


def _section_target(name: str, target: dict[str, Any]) -> tuple[str, str, str, str]:
    """A section's target as a row: what, the bound, the measured value, the verdict.

    >>> _section_target("memory", {"ratio": "peak at 3M / peak at 1M", "at_most": 1.05,
    ...                            "measured": 1.01, "met": True})
    ('memory: peak at 3M / peak at 1M', 'at_most 1.05', '1.01', 'met')
    """
    label = f"{name}: {target['ratio']}" if "ratio" in target else name
    goal = ", ".join(
        f"{key} {value}"
        for key, value in target.items()
        if key not in ("met", "ratio") and not key.startswith("measured")
    )
    measured = next((v for k, v in target.items() if k.startswith("measured")), None)
    met = target.get("met")
    verdict = "-" if met is None else "met" if met else "MISSED"
    return label, goal, json.dumps(measured), verdict
