"""The page's charts, drawn by matplotlib (a maintained plotting library) as SVG inlined in the page: no script, no
CDN, so the page opens offline and prints. Text stays text (`svg.fonttype: none`), so axis labels and values can be
read, searched and checked; every data mark has an id `<chart>-mark-<n>`.
"""

from __future__ import annotations

import functools
import html
import io
from collections.abc import Callable

from .model import Report
from .render import hours_text

COLORS = {"primary": "#2f6fb0", "merged": "#3b8a3e", "closed unmerged": "#b5483b", "open": "#8a8f98"}
SERIES_COLORS = ("#2f6fb0", "#e08a2c")
# Up to this many weeks, each bar carries its value; past it the labels would overlap (the repo tables have them).
LABELLED_WEEKS = 8


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


def _whole_numbers(axes, axis: str = "y") -> None:
    """Counts are whole: no 0.2-step ticks on a count axis."""
    from matplotlib.ticker import MaxNLocator

    (axes.yaxis if axis == "y" else axes.xaxis).set_major_locator(MaxNLocator(integer=True))


def _mark(bars, chart_id: str, start: int = 0) -> int:
    for offset, bar in enumerate(bars):
        bar.set_gid(f"{chart_id}-mark-{start + offset}")
    return start + len(bars)


def _paired_bars(axes, weeks: list[str], series: dict[str, list[float | None]], chart_id: str) -> None:
    """Bars side by side per week, one colour per series; a median never reached is a dashed outline with
    "not reached" written in it, never a bar of zero."""
    width = 0.8 / len(series)
    top = max([v for values in series.values() for v in values if v is not None] + [1.0])
    marks = 0
    for offset, (name, values) in enumerate(series.items()):
        positions = [index - 0.4 + width * (offset + 0.5) for index in range(len(weeks))]
        reached = [v if v is not None else 0 for v in values]
        bars = axes.bar(positions, reached, width=width, color=SERIES_COLORS[offset], label=name)
        marks = _mark(bars, chart_id, marks)
        if len(weeks) <= LABELLED_WEEKS:
            axes.bar_label(bars, labels=[hours_text(v) if v is not None else "" for v in values], fontsize=6, padding=2)
        for index, value in enumerate(values):
            if value is None:
                axes.bar(
                    positions[index],
                    top,
                    width=width,
                    color="none",
                    edgecolor="#999999",
                    linestyle="--",
                    gid=f"{chart_id}-unreached-{offset}-{index}",
                )
                axes.text(
                    positions[index], top / 2, "not\nreached", ha="center", va="center", fontsize=6, color="#666666"
                )
    axes.set_xticks(range(len(weeks)), weeks)


@_styled
def weekly_median_chart(report: Report) -> str:
    weeks = report.weekly.get("all repos", [])
    figure, axes = _figure()
    series = {
        "first reply": [w.median_first_reply_hours for w in weeks],
        "first response": [w.median_first_response_hours for w in weeks],
    }
    _paired_bars(axes, [w.week for w in weeks], series, "weekly-median")
    axes.set_xlabel("week opened (Monday)")
    axes.set_ylabel("median hours to first reply / response")
    axes.tick_params(axis="x", labelrotation=45)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=2)
    return _svg(
        figure,
        "weekly-median",
        "Median time to a first reply and to a first response, by week opened (dashed: fewer than half answered)",
    )


@_styled
def waiting_trend_chart(report: Report) -> str:
    weeks = report.weekly.get("all repos", [])
    figure, axes = _figure(height=3.0)
    labels = [w.week for w in weeks]
    line = axes.plot(labels, [w.waiting_at_end for w in weeks], marker="o", color=COLORS["primary"])[0]
    line.set_gid("waiting-trend-mark-0")
    bars = axes.bar(
        labels,
        [w.external_prs_merged for w in weeks],
        color=COLORS["merged"],
        width=0.5,
        alpha=0.6,
        label="external PRs merged that week",
    )
    _mark(bars, "waiting-trend", 1)
    axes.set_xlabel("week (Monday)")
    axes.set_ylabel("items (count)")
    axes.tick_params(axis="x", labelrotation=45)
    axes.legend(
        [line, bars],
        [f"waiting for a first {report.answer_word} at the week's end", "external PRs merged"],
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        frameon=False,
        ncols=2,
    )
    _whole_numbers(axes)
    return _svg(figure, "waiting-trend", "Items waiting on us at each week's end, and external PRs merged each week")


@_styled
def responders_chart(report: Report) -> str:
    shown = report.responders[:15][::-1]
    figure, axes = _figure(height=max(1.6, 0.28 * len(shown) + 0.9))
    bars = axes.barh([login for login, _ in shown], [count for _, count in shown], color=COLORS["primary"])
    _mark(bars, "responders")
    axes.bar_label(bars, padding=2, fontsize=7)
    axes.set_xlabel("first replies given (items)")
    axes.set_ylabel("maintainer")
    axes.grid(axis="y", visible=False)
    _whole_numbers(axes, "x")
    more = f" (15 of {len(report.responders)} shown)" if len(report.responders) > 15 else ""
    return _svg(figure, "responders", f"Who gave the first replies to the period's items{more}")


@_styled
def label_time_chart(report: Report) -> str:
    timers = [t for t in report.label_timers if t.stays.observed]
    figure, axes = _figure(height=max(1.6, 0.35 * len(timers) + 0.9))
    values = [t.stays.median_hours or 0 for t in timers]
    bars = axes.barh([t.label for t in timers], values, color=COLORS["primary"])
    _mark(bars, "label-time")
    axes.bar_label(
        bars,
        labels=[f"{hours_text(t.stays.median_hours)} ({t.stays.observed} stays)" for t in timers],
        padding=2,
        fontsize=7,
    )
    axes.set_xlabel("median hours in the label")
    axes.grid(axis="y", visible=False)
    return _svg(figure, "label-time", "How long items sat in each state label (stays that began in the period)")


@_styled
def backlog_chart(report: Report) -> str:
    labels, values = list(report.backlog_by_age), list(report.backlog_by_age.values())
    figure, axes = _figure(height=3.0)
    bars = axes.bar(labels, values, color=COLORS["primary"], width=0.6)
    _mark(bars, "backlog")
    axes.bar_label(bars, padding=2)
    axes.set_xlabel("waiting for")
    axes.set_ylabel(f"open items with no {report.answer_word}")
    _whole_numbers(axes)
    return _svg(
        figure,
        "backlog",
        f"Open items with no maintainer {report.answer_word} yet, whenever opened, by how long they have waited",
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
    axes.set_ylabel("pull requests by outsiders (count)")
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=3)
    _whole_numbers(axes)
    return _svg(figure, "pr-outcomes", "External pull requests by month opened, and what became of them")
