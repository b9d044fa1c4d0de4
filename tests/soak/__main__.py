"""``python -m tests.soak [--minutes 30] [--seed 7] [--rate 150] [--out soak.json]``: the
soak run (:mod:`tests.soak.run`); exit status 0 when every check of its accounting holds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.soak.run import SoakOptions, soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=int, default=150, help="events a second")
    parser.add_argument("--gap", type=float, default=60.0, help="about one fault this often (s)")
    parser.add_argument("--home", type=Path, help="where the stack and logs live (kept)")
    parser.add_argument("--out", type=Path, default=Path("soak.json"))
    parser.add_argument("--secure", action="store_true", help="on a secured stack (TLS, SASL)")
    args = parser.parse_args(argv)
    options = SoakOptions(
        args.minutes, args.seed, args.rate, args.gap, args.home, args.out, args.secure
    )
    report = soak(options)
    console = Console()
    faults = Table(title="faults injected")
    for column in ("at (s)", "fault", "target", "held (s)", "recovered in (s)"):
        faults.add_column(column, justify="right" if "(s)" in column else "left")
    for f in report["faults"]:
        faults.add_row(
            f"{f['injected_s']:.0f}", f["kind"], f["target"], f"{f['hold_s']:.1f}",
            f"{f['recovery_s']:.1f}",
        )  # fmt: skip
    console.print(faults)
    checks = Table(title="accounting")
    checks.add_column("check")
    checks.add_column("holds")
    for name, held in report["checks"].items():
        checks.add_row(name, "yes" if held else "[red]NO[/red]")
    console.print(checks)
    console.print(f"report: {args.out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
