"""``driftline validate``'s HTML report: a table of every feature, and one plot of the
reference's and the current shares per flagged feature (inline SVG: the file needs
nothing else to open)."""

from __future__ import annotations

import html
from typing import Any

from driftline.core.quality.validation import Comparison

__all__ = ["render_report"]

_WIDTH, _BAR_H, _LABEL_W = 640, 14, 170
_COLORS = ("#2563eb", "#dc2626")


def _plot(comparison: Comparison) -> str:
    """Horizontal bars, reference above current, one pair per bin."""
    rows = list(
        zip(comparison.bins, comparison.shares_reference, comparison.shares_current, strict=True)
    )
    top = max([s for _, a, b in rows for s in (a, b)] or [1.0]) or 1.0
    scale = (_WIDTH - _LABEL_W - 60) / top
    height = len(rows) * (2 * _BAR_H + 6) + 30
    parts = [
        f'<svg class="plot" data-feature="{html.escape(comparison.feature)}" width="{_WIDTH}" '
        f'height="{height}" role="img" aria-label="shares of {html.escape(comparison.feature)}">'
    ]
    for i, (label, ref, cur) in enumerate(rows):
        y = 20 + i * (2 * _BAR_H + 6)
        parts.append(
            f'<text x="{_LABEL_W - 6}" y="{y + _BAR_H + 3}" text-anchor="end">'
            f"{html.escape(label[:28])}</text>"
        )
        for j, share in enumerate((ref, cur)):
            width = max(share * scale, 0.5)
            parts.append(
                f'<rect x="{_LABEL_W}" y="{y + j * _BAR_H}" width="{width:.1f}" '
                f'height="{_BAR_H - 2}" fill="{_COLORS[j]}"><title>{share:.1%}</title></rect>'
            )
            parts.append(
                f'<text x="{_LABEL_W + width + 4:.1f}" y="{y + j * _BAR_H + _BAR_H - 3}" '
                f'class="share">{share:.1%}</text>'
            )
    parts.append(
        f'<text x="{_LABEL_W}" y="12" fill="{_COLORS[0]}">reference</text>'
        f'<text x="{_LABEL_W + 80}" y="12" fill="{_COLORS[1]}">current</text></svg>'
    )
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return " to ".join(f"{v:g}" for v in value)
    return html.escape(str(value))


def render_report(comparisons: list[Comparison], about: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    flagged = [c for c in comparisons if c.flagged]
    rows = []
    for c in sorted(comparisons, key=lambda c: (not c.flagged, c.feature)):
        rows.append(
            f'<tr class="{"flagged" if c.flagged else ""}">'
            + "".join(
                f"<td>{_cell(v)}</td>"
                for v in (
                    c.feature,
                    c.kind,
                    f"{c.missing_reference:.1%} / {c.missing_current:.1%}",
                    c.psi,
                    c.test,
                    c.p_value,
                    c.effect,
                    c.range_reference,
                    c.range_current,
                    ", ".join(c.flags) or "-",
                )
            )
            + "</tr>"
        )
    plots = "".join(
        f"<section><h3>{html.escape(c.feature)} <small>({', '.join(c.flags)}; "
        f"PSI {_cell(c.psi)})</small></h3>{_plot(c)}</section>"
        for c in flagged
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "feature",
            "kind",
            "missing ref / cur",
            "PSI",
            "test",
            "p-value",
            "effect",
            "range ref",
            "range cur",
            "flags",
        )
    )
    title = (
        f"{html.escape(about['topic'])}: {html.escape(about['reference'])} against "
        f"{html.escape(about['current'])}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>driftline validate: {title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #e5e7eb; padding: .2rem .6rem; text-align: left; }}
tr.flagged td {{ background: #fef3c7; }}
svg.plot text {{ font: 11px system-ui, sans-serif; }}
</style></head><body>
<h1>driftline validate</h1>
<p>{title}: {about["reference_observations"]:,} and {about["current_observations"]:,}
observations; {len(flagged)} of {len(comparisons)} features flagged (PSI &ge;
{about["psi_threshold"]:g}, a two-sample test at {about["alpha"]:g} with an effect of
{about["min_effect"]:g} or more, missing rate moved by {about["missing_delta"]:.0%},
or more than {about["outside_share"]:.0%} outside the reference's range or categories).</p>
<table><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>Flagged features</h2>
{plots or "<p>none</p>"}
</body></html>
"""
