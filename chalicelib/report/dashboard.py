"""The report as one self-contained page: headline table, the lists to act on, and charts.

Charts are drawn by matplotlib (a maintained plotting library) as SVG inlined in the page: no script, no CDN, so
the page opens offline and prints. Text stays text (`svg.fonttype: none`), so axis labels and values can be read,
searched and checked; every data mark has an id `<chart>-mark-<n>`.
"""

from __future__ import annotations

import functools
import html
import io
from collections.abc import Callable

from .model import ItemLine, Report
from .render import COLUMNS, DEFINITIONS, LISTS, SHOWN, header_lines, headline_cells, hours_text, list_heading

COLORS = {"primary": "#2f6fb0", "merged": "#3b8a3e", "closed unmerged": "#b5483b", "open": "#8a8f98"}


CHART_STYLE = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "contributor-metrics",
}


def _styled(chart: Callable[[Report], str]) -> Callable[[Report], str]:
    """Draw and save the chart under the page's style, for this chart only: process-wide rcParams would restyle
    every other figure the process draws."""

    @functools.wraps(chart)
    def drawn(report: Report) -> str:
        import matplotlib

        matplotlib.use("Agg")
        with matplotlib.rc_context(CHART_STYLE):
            return chart(report)

    return drawn


def _figure(width: float = 9.0, height: float = 3.4):
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(width, height), layout="constrained")
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _svg(figure, chart_id: str, title: str) -> str:
    from matplotlib import pyplot

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    pyplot.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(title)}" ', 1)
    return f'<figure class="chart" id="{chart_id}"><figcaption>{html.escape(title)}</figcaption>{labelled}</figure>'


def _whole_numbers(axes) -> None:
    """Counts are whole: no 0.2-step ticks on a count axis."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _mark(bars, chart_id: str, start: int = 0) -> int:
    for offset, bar in enumerate(bars):
        bar.set_gid(f"{chart_id}-mark-{start + offset}")
    return start + len(bars)


@_styled
def weekly_median_chart(report: Report) -> str:
    weeks = list(report.weekly_median_hours)
    values = [report.weekly_median_hours[w] for w in weeks]
    figure, axes = _figure()
    reached = [v if v is not None else 0 for v in values]
    bars = axes.bar(weeks, reached, color=COLORS["primary"], width=0.7)
    _mark(bars, "weekly-median")
    axes.bar_label(bars, labels=[hours_text(v) if v is not None else "" for v in values], fontsize=7, padding=2)
    top = max([v for v in values if v is not None] + [1.0])
    for index, value in enumerate(values):
        if value is None:
            axes.bar(
                weeks[index],
                top,
                color="none",
                edgecolor="#999999",
                linestyle="--",
                width=0.7,
                gid=f"weekly-median-unreached-{index}",
            )
            axes.text(index, top / 2, "not\nreached", ha="center", va="center", fontsize=7, color="#666666")
    axes.set_xlabel("week opened (Monday)")
    axes.set_ylabel("median hours to first response")
    axes.tick_params(axis="x", labelrotation=45)
    return _svg(
        figure, "weekly-median", "Median time to first response, by week opened (dashed: fewer than half answered)"
    )


@_styled
def backlog_chart(report: Report) -> str:
    labels, values = list(report.backlog_by_age), list(report.backlog_by_age.values())
    figure, axes = _figure(height=3.0)
    bars = axes.bar(labels, values, color=COLORS["primary"], width=0.6)
    _mark(bars, "backlog")
    axes.bar_label(bars, padding=2)
    axes.set_xlabel("waiting for")
    axes.set_ylabel("open items with no response")
    _whole_numbers(axes)
    return _svg(
        figure, "backlog", "Open items with no maintainer response yet, whenever opened, by how long they have waited"
    )


@_styled
def pr_outcomes_chart(report: Report) -> str:
    months = list(report.pr_outcomes_by_month)
    figure, axes = _figure(height=3.2)
    bottom = [0] * len(months)
    marks = 0
    for outcome in ("merged", "closed unmerged", "open"):
        values = [report.pr_outcomes_by_month[m][outcome] for m in months]
        bars = axes.bar(months, values, bottom=bottom, label=outcome, color=COLORS[outcome], width=0.6)
        marks = _mark(bars, "pr-outcomes", marks)
        axes.bar_label(
            bars, labels=[str(v) if v else "" for v in values], label_type="center", fontsize=7, color="white"
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xlabel("month opened")
    axes.set_ylabel("pull requests by outsiders")
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=3)
    _whole_numbers(axes)
    return _svg(figure, "pr-outcomes", "External pull requests by month opened, and what became of them")


def _list_section(report: Report, name: str, empty: str) -> str:
    """The list `name` (a key of LISTS): its first SHOWN items under its true count (the whole list:
    `report.py --list`)."""
    attribute, title = LISTS[name]
    lines: list[ItemLine] = getattr(report, attribute)
    if not lines:
        return f"<section><h2>{html.escape(title)}</h2><p class='none'>{html.escape(empty)}</p></section>"
    rows = "".join(
        "<tr>"
        f"<td class='repo'>{html.escape(line.repo)}</td>"
        f"<td><a href='{html.escape(line.url)}'>#{line.number} {html.escape(line.title)}</a></td>"
        f"<td>{html.escape(line.author or '')}</td>"
        f"<td class='num'>{hours_text(line.hours) if line.hours else ''}</td>"
        f"<td>{html.escape(line.labels or '')}</td>"
        f"<td>{html.escape(line.why)}</td></tr>"
        for line in lines[:SHOWN]
    )
    return (
        f"<section><h2>{html.escape(list_heading(title, lines))}</h2>"
        f"<p class='definition'>{html.escape(DEFINITIONS[title].capitalize())}.</p>"
        "<div class='scroll'><table class='list'>"
        "<thead><tr><th>repo</th><th>item</th><th>author</th><th>waiting</th><th>labels</th><th>why</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></div></section>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}th{background:#f4f4f4;text-align:left}
td.num,table.headline td:not(:first-child){text-align:right;white-space:nowrap}
td.repo,table.headline td:first-child{white-space:nowrap}
.chart{margin:1.5em 0}.chart figcaption{font-weight:bold;margin-bottom:.3em}.chart svg{width:100%;height:auto}
.note{background:#fff6e0;border-left:4px solid #e0a000;padding:.4em .8em}.none{color:#666}
.flags{color:#a05a00;font-size:.9em}
"""


def as_html(report: Report) -> str:
    if report.empty_because:
        body = (
            f"<h1>How outside contributors are treated</h1><p class='note'>Nothing to report: "
            f"{html.escape(report.empty_because)}.</p>"
        )
        return _page(body)
    header, *rest = header_lines(report)
    facts = "".join(f"<li>{html.escape(line)}</li>" for line in rest[:4])
    notes = "".join(f"<p class='note'>{html.escape(line)}</p>" for line in report.notes)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body_rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in headline_cells(h))
        + "</tr>"
        + (
            f"<tr><td colspan='{len(COLUMNS)}' class='flags'>read with care: "
            f"{html.escape(', '.join(h.flags))}</td></tr>"
            if h.flags
            else ""
        )
        for h in report.headlines
    )
    charts = []
    if report.weekly_median_hours:
        charts.append(weekly_median_chart(report))
    if report.backlog_by_age:
        charts.append(backlog_chart(report))
    if report.pr_outcomes_by_month:
        charts.append(pr_outcomes_chart(report))
    body = (
        f"<h1>How outside contributors are treated</h1><p>{html.escape(header)}</p><ul>{facts}</ul>{notes}"
        f"<div class='scroll'><table class='headline'><thead><tr>{head}</tr></thead><tbody>{body_rows}</tbody>"
        "</table></div>"
        + _list_section(report, "waiting", "Nothing waits on a maintainer.")
        + _list_section(report, "beyond-sla", "Nothing waits beyond the SLA.")
        + "".join(charts)
        + _list_section(report, "trending", "No open issue had outside activity this week.")
        + _list_section(report, "external-prs", "No external PR is open.")
    )
    return _page(body)


def _page(body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>contributor-metrics report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
