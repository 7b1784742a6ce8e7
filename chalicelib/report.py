"""Headline figures from the insight views: time to first response as a survival estimate, SLA, PR outcomes.

Unanswered items still count: they are censored at their current age (Kaplan-Meier), so a team that leaves
many outsiders waiting does not look fast because the few it answered were answered quickly.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

AGE_BUCKETS = ((24, "< 1 day"), (72, "1-3 days"), (168, "3-7 days"), (720, "1-4 weeks"), (float("inf"), "> 4 weeks"))


def kaplan_meier(observations: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """The survival curve [(time, S(time))] at each time an answer came, from (duration, answered) pairs.

    Items censored at a time are still at risk at that time, as is the convention."""
    curve, survival = [], 1.0
    remaining = sorted(observations)
    at_risk = len(remaining)
    index = 0
    while index < len(remaining):
        moment = remaining[index][0]
        answered = censored = 0
        while index < len(remaining) and remaining[index][0] == moment:
            answered += remaining[index][1]
            censored += not remaining[index][1]
            index += 1
        if answered:
            survival *= 1 - answered / at_risk
            curve.append((moment, survival))
        at_risk -= answered + censored
    return curve


def survival_quantile(curve: list[tuple[float, float]], share_answered: float) -> float | None:
    """The time by which `share_answered` of items got an answer; None when the data never gets there."""
    for moment, survival in curve:
        if survival <= 1 - share_answered + 1e-12:
            return moment
    return None


def answered_by(curve: list[tuple[float, float]], hours: float) -> float:
    survival = 1.0
    for moment, value in curve:
        if moment > hours:
            break
        survival = value
    return 1 - survival


@dataclass
class Headline:
    scope: str
    outsider_items: int = 0
    answered: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    answered_within_sla: float | None = None
    waiting_beyond_sla: int = 0
    external_prs_merged: int = 0
    external_prs_closed_unmerged: int = 0
    external_pr_merge_rate: float | None = None


@dataclass
class Report:
    since: date
    until: date
    sla_hours: float
    headlines: list[Headline] = field(default_factory=list)
    weekly_median_hours: dict[str, float | None] = field(default_factory=dict)
    backlog_by_age: dict[str, int] = field(default_factory=dict)
    pr_outcomes_by_month: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.headlines or self.headlines[-1].outsider_items == 0


def _headline(scope: str, rows: list[dict], prs: list[dict], sla_hours: float) -> Headline:
    observations = [
        (r["hours_to_first_response"], True)
        if r["hours_to_first_response"] is not None
        else (r["hours_waiting"], False)
        for r in rows
    ]
    curve = kaplan_meier(observations)
    merged = sum(p["merged"] or 0 for p in prs)
    closed = sum(p["closed_unmerged"] or 0 for p in prs)
    return Headline(
        scope=scope,
        outsider_items=len(rows),
        answered=sum(1 for _, answered in observations if answered),
        median_hours=survival_quantile(curve, 0.5),
        p90_hours=survival_quantile(curve, 0.9),
        answered_within_sla=answered_by(curve, sla_hours) if rows else None,
        waiting_beyond_sla=sum(
            1
            for r in rows
            if r["hours_to_first_response"] is None and r["state"] == "open" and r["hours_waiting"] > sla_hours
        ),
        external_prs_merged=merged,
        external_prs_closed_unmerged=closed,
        external_pr_merge_rate=merged / (merged + closed) if merged + closed else None,
    )


def build_report(engine: Engine, since: date, until: date, repos: list[str] | None, sla_hours: float) -> Report:
    start, end = datetime.combine(since, datetime.min.time()), datetime.combine(until, datetime.max.time())
    with engine.connect() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                text(
                    "SELECT repo, kind, state, created_at, hours_to_first_response, hours_waiting FROM first_response "
                    "WHERE created_at BETWEEN :start AND :end"
                ),
                {"start": start, "end": end},
            )
        ]
        prs = [
            dict(r._mapping)
            for r in connection.execute(
                text(
                    "SELECT repo, month, merged, closed_unmerged, still_open FROM external_prs "
                    "WHERE month BETWEEN :first AND :last"
                ),
                {"first": since.strftime("%Y-%m"), "last": until.strftime("%Y-%m")},
            )
        ]
    if repos:
        rows = [r for r in rows if r["repo"] in repos]
        prs = [p for p in prs if p["repo"] in repos]
    report = Report(since, until, sla_hours)
    for repo in sorted({r["repo"] for r in rows} | {p["repo"] for p in prs}):
        report.headlines.append(
            _headline(repo, [r for r in rows if r["repo"] == repo], [p for p in prs if p["repo"] == repo], sla_hours)
        )
    report.headlines.append(_headline("all repos", rows, prs, sla_hours))
    weeks: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for r in rows:
        created = (
            r["created_at"] if isinstance(r["created_at"], datetime) else datetime.fromisoformat(str(r["created_at"]))
        )
        monday = (created - timedelta(days=created.weekday())).strftime("%Y-%m-%d")
        answered = r["hours_to_first_response"] is not None
        weeks[monday].append((r["hours_to_first_response"] if answered else r["hours_waiting"], answered))
    report.weekly_median_hours = {
        week: survival_quantile(kaplan_meier(obs), 0.5) for week, obs in sorted(weeks.items())
    }
    report.backlog_by_age = {label: 0 for _, label in AGE_BUCKETS}
    for r in rows:
        if r["hours_to_first_response"] is None and r["state"] == "open":
            label = next(label for limit, label in AGE_BUCKETS if r["hours_waiting"] < limit)
            report.backlog_by_age[label] += 1
    months: dict[str, dict[str, int]] = defaultdict(lambda: {"merged": 0, "closed unmerged": 0, "open": 0})
    for p in prs:
        months[p["month"]]["merged"] += p["merged"] or 0
        months[p["month"]]["closed unmerged"] += p["closed_unmerged"] or 0
        months[p["month"]]["open"] += p["still_open"] or 0
    report.pr_outcomes_by_month = dict(sorted(months.items()))
    return report


def _hours(value: float | None) -> str:
    if value is None:
        return "not reached"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


COLUMNS = (
    "scope",
    "outsider items",
    "answered",
    "median first response",
    "p90 first response",
    "answered within SLA",
    "waiting beyond SLA",
    "external PR merge rate",
)


def headline_cells(h: Headline) -> list[str]:
    return [
        h.scope,
        str(h.outsider_items),
        str(h.answered),
        _hours(h.median_hours),
        _hours(h.p90_hours),
        _share(h.answered_within_sla),
        str(h.waiting_beyond_sla),
        _share(h.external_pr_merge_rate),
    ]


def as_table(report: Report) -> str:
    rows = [list(COLUMNS)] + [headline_cells(h) for h in report.headlines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return (
        f"Outside contributors, items created {report.since} to {report.until}, SLA {report.sla_hours:g} h\n"
        + "\n".join(lines)
    )


def as_json(report: Report) -> str:
    data = asdict(report)
    data["since"], data["until"] = str(report.since), str(report.until)
    return json.dumps(data, indent=2)


def bar_chart(title: str, labels: list[str], series: dict[str, list[float | None]], unit: str) -> str:
    """A self-contained SVG bar chart (stacked when there are several series). A None value (a median
    never reached) is drawn as a dashed outline, so it cannot be mistaken for zero."""
    width, height, left, bottom, top = 760, 280, 50, 60, 50
    colors = ["#2f6fb0", "#d08a2e", "#8a8f98", "#5a9e5a"]
    totals = [sum(values[i] or 0 for values in series.values()) for i in range(len(labels))]
    peak = max([*totals, 1e-09])
    slot = (width - left - 10) / max(1, len(labels))
    plot = height - bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="18" font-size="14" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#444"/>',
        f'<text x="4" y="{top + 4}" font-size="10">{peak:.0f} {html.escape(unit)}</text>',
    ]
    for n, (color, name) in enumerate(zip(colors, series, strict=False)):
        parts.append(
            f'<rect x="{left + 150 * n}" y="28" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + 14 + 150 * n}" y="37" font-size="11">{html.escape(name)}</text>'
        )
    for i, label in enumerate(labels):
        bar_width = max(1.0, min(slot - 4, 60.0))
        x, base = left + i * slot + (slot - bar_width) / 2, height - bottom
        for color, (name, values) in zip(colors, series.items(), strict=False):
            value = values[i]
            if value is None:
                parts.append(
                    f'<rect x="{x:.1f}" y="{top}" width="{bar_width:.1f}" height="{plot}" '
                    f'fill="none" stroke="#999" stroke-dasharray="4 3"><title>{html.escape(label)} '
                    f"{html.escape(name)}: not reached</title></rect>"
                )
                continue
            bar = plot * value / peak
            base -= bar
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_width:.1f}" height="{bar:.1f}" '
                f'fill="{color}"><title>{html.escape(label)} {html.escape(name)}: {value:.1f}</title></rect>'
            )
        if len(labels) <= 40 or i % max(1, len(labels) // 20) == 0:
            middle = left + i * slot + slot / 2
            parts.append(
                f'<text x="{middle:.1f}" y="{height - bottom + 12}" font-size="9" '
                f'transform="rotate(45 {middle:.1f} {height - bottom + 12})">{html.escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def as_html(report: Report) -> str:
    header = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in headline_cells(h)) + "</tr>"
        for h in report.headlines
    )
    weeks = list(report.weekly_median_hours)
    months = list(report.pr_outcomes_by_month)
    charts = [
        bar_chart(
            "Median time to first response, by week opened",
            weeks,
            {"median hours (dashed: fewer than half answered yet)": [report.weekly_median_hours[w] for w in weeks]},
            "h",
        ),
        bar_chart(
            "Unanswered open items by age",
            list(report.backlog_by_age),
            {"items": list(report.backlog_by_age.values())},
            "items",
        ),
        bar_chart(
            "External pull requests by month opened",
            months,
            {
                outcome: [report.pr_outcomes_by_month[m][outcome] for m in months]
                for outcome in ("merged", "closed unmerged", "open")
            },
            "PRs",
        ),
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>contributor-metrics report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
.chart{{display:block;margin:1.5em 0}}</style></head><body>
<h1>How outside contributors are treated</h1>
<p>Issues and pull requests opened by people outside the org from {report.since} to {report.until}. Times to
first response are Kaplan-Meier estimates: items nobody answered yet count as still waiting. SLA:
{report.sla_hours:g} hours.</p>
<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>
{"".join(charts)}
</body></html>
"""


def as_csv(report: Report) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f.name for f in Headline.__dataclass_fields__.values()])
    for h in report.headlines:
        writer.writerow(list(asdict(h).values()))
    return buffer.getvalue()
