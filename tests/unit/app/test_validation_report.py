"""The validation report's HTML: a plot for each flagged feature, names escaped."""

from __future__ import annotations

import re

from driftline.app.validation_report import render_report
from driftline.core.quality.validation import compare
from tests.unit.core.quality.samples import sample


def test_the_report_plots_each_flagged_feature_and_escapes_names() -> None:
    reference = sample(1)
    current = sample(2, shift=4.0, carriers="AAAAAAUD")
    reference.add({"<script>": 1.0})
    current.add({"<script>": 1.0})
    comparisons = compare(reference, current)
    about = {
        "topic": "t.events",
        "reference": "2013-01-01/2013-02-01",
        "current": "2013-02-01/2013-03-01",
        "reference_observations": reference.observations,
        "current_observations": current.observations,
        "psi_threshold": 0.25,
        "alpha": 0.001,
        "min_effect": 0.1,
        "missing_delta": 0.05,
        "outside_share": 0.01,
    }
    page = render_report(comparisons, about)
    plotted = re.findall(r'<svg class="plot" data-feature="([^"]+)"', page)
    assert sorted(plotted) == sorted(c.feature for c in comparisons if c.flagged)
    assert {"temp", "carrier"} <= set(plotted)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http" not in page  # the file opens on its own
