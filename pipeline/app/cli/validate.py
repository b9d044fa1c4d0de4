"""``driftline validate``: two event-time windows of the events topic, feature by feature."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from driftline.app.cli.common import Json, Namespace, emit_json
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout
from driftline.core import jsonsafe
from driftline.core.errors import ConfigError

__all__ = ["parse_window", "validate"]


def parse_window(text: str) -> tuple[datetime, datetime]:
    """``START/END`` in ISO 8601 (a date or a time; UTC unless it says otherwise).

    >>> [t.isoformat() for t in parse_window("2013-01-01/2013-02-01T12:00+01:00")]
    ['2013-01-01T00:00:00+00:00', '2013-02-01T12:00:00+01:00']
    """
    start_text, sep, end_text = text.partition("/")
    try:
        if not sep:
            raise ValueError("no '/' between START and END")
        start, end = (datetime.fromisoformat(t.strip()) for t in (start_text, end_text))
    except ValueError as exc:
        raise ConfigError(
            f"window {text!r} is not START/END in ISO 8601 (2013-01-01/2013-02-01): {exc}"
        ) from exc
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    if end <= start:
        raise ConfigError(f"window {text!r} ends before it starts")
    return start, end


def validate(
    ctx: typer.Context,
    reference: Annotated[
        str, typer.Option(help="START/END of the reference window (event time, ISO 8601)")
    ],
    current: Annotated[str, typer.Option(help="START/END of the window compared with it")],
    psi: Annotated[float, typer.Option(min=0, help="the PSI that flags a feature")] = 0.25,
    alpha: Annotated[
        float, typer.Option(min=0, max=1, help="significance of the two-sample tests")
    ] = 0.001,
    min_effect: Annotated[
        float, typer.Option(min=0, max=1, help="KS statistic or Cramer's V that matters")
    ] = 0.1,
    out: Annotated[Path | None, typer.Option(help="write the comparison as JSON here")] = None,
    html: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    fail_on_flag: Annotated[
        bool, typer.Option("--fail-on-flag", help="exit 1 when a feature is flagged")
    ] = False,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Compare two event-time windows of the events topic feature by feature: missing
    rates, ranges, category shares, PSI and a two-sample test (training-serving skew)."""
    from driftline.adapters.kafka_reads import reading_consumer
    from driftline.app.validation_report import render_report
    from driftline.core.quality.validation import compare
    from driftline.read.profiles import window_profiles

    windows = [parse_window(reference), parse_window(current)]
    services = services_of(ctx, namespace)
    settings = services.settings
    with (
        reading_consumer(services.kafka) as consumer,
        stderr.status(f"reading {settings.topics.events}..."),
    ):
        ref, cur = window_profiles(consumer, settings.topics.events, windows)
    if not ref.observations or not cur.observations:
        empty = "reference" if not ref.observations else "current"
        raise ConfigError(f"the {empty} window holds no observation in {settings.topics.events}")
    thresholds = {"psi_threshold": psi, "alpha": alpha, "min_effect": min_effect}
    limits = {"missing_delta": 0.05, "outside_share": 0.01}
    comparisons = compare(ref, cur, **thresholds, **limits)
    about: dict[str, Any] = {
        "topic": settings.topics.events,
        "reference": reference,
        "current": current,
        "reference_observations": ref.observations,
        "current_observations": cur.observations,
        **thresholds,
        **limits,
    }
    result = {
        **about,
        "flagged": [c.feature for c in comparisons if c.flagged],
        "features": [c.to_dict() for c in comparisons],
    }
    if out is not None:
        out.write_text(jsonsafe.dumps(result, indent=2) + "\n")
    if html is not None:
        html.write_text(render_report(comparisons, about))
    if as_json:
        emit_json(result)
    else:
        stdout.print(_table(comparisons, about))
        for path, what in ((out, "JSON"), (html, "HTML report")):
            if path is not None:
                stdout.print(f"{what}: {path}")
    if fail_on_flag and result["flagged"]:
        raise typer.Exit(1)


def _table(comparisons: list[Any], about: dict[str, Any]) -> Table:
    table = Table(
        title=f"{about['topic']}: {about['reference']} ({about['reference_observations']:,}) "
        f"against {about['current']} ({about['current_observations']:,})"
    )
    for name in ("feature", "kind", "missing ref / cur", "PSI", "test p", "effect", "flags"):
        table.add_column(name)
    for c in sorted(comparisons, key=lambda c: (not c.flagged, c.feature)):
        table.add_row(
            c.feature,
            c.kind,
            f"{c.missing_reference:.1%} / {c.missing_current:.1%}",
            "-" if c.psi is None else f"{c.psi:.3f}",
            "-" if c.p_value is None else f"{c.p_value:.2g}",
            "-" if c.effect is None else f"{c.effect:.3f}",
            ("[bold red]" + ", ".join(c.flags) + "[/]") if c.flags else "-",
        )
    return table
