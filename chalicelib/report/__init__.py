"""The report, in three rooms: `survival` (Kaplan-Meier estimates, pure), `model` (what the report holds and the
queries that fill it from the insight views), and the renderers: `render` (table, CSV, JSON, and the cells the
page and the digest share) and `dashboard` (the self-contained HTML page)."""

from .build import build_report
from .dashboard import as_html
from .model import Headline, ItemLine, Report, ReportOptions, coverage_text
from .render import as_csv, as_json, as_table, hours_text
from .survival import answered_by, kaplan_meier, survival_quantile

__all__ = [
    "Headline",
    "ItemLine",
    "Report",
    "ReportOptions",
    "answered_by",
    "as_csv",
    "as_html",
    "as_json",
    "as_table",
    "build_report",
    "coverage_text",
    "hours_text",
    "kaplan_meier",
    "survival_quantile",
]
