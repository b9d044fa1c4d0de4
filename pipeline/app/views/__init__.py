"""Terminal views (rich), one module per thing shown: the metrics (:mod:`.metrics`), data
quality (:mod:`.quality`), alerts (:mod:`.alerts`), the demo's live panel (:mod:`.live`)
and its closing summary (:mod:`.demo_summary`)."""

from driftline.app.views.alerts import alerts_table
from driftline.app.views.demo_summary import demo_summary
from driftline.app.views.live import LiveView, live_panel
from driftline.app.views.metrics import metrics_table, models_table, series_table
from driftline.app.views.quality import quality_log_table, quality_table

__all__ = [
    "LiveView",
    "alerts_table",
    "demo_summary",
    "live_panel",
    "metrics_table",
    "models_table",
    "quality_log_table",
    "quality_table",
    "series_table",
]
