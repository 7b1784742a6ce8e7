"""What the report says, from the insight views: figures a team can trust, and the items to act on.

Time to first response is a survival estimate (Kaplan-Meier): an unanswered item counts as still waiting (censored
at its age, or at its close if it was closed unanswered), so a team that leaves many outsiders waiting does not
look fast because the few it answered were answered quickly. Only items whose timeline was read count: an item
never looked at is not "unanswered", it is counted apart. Without the org's members, nobody can be told from a
maintainer, so first-response figures are refused rather than guessed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Engine

from .state import MEMBERS_SYNCED

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


COVERAGE_TARGET = 0.9
SMALL_MEDIAN_SAMPLE = 10
SMALL_RATE_SAMPLE = 5
LIST_LENGTH = 25


@dataclass
class Headline:
    scope: str
    outsider_items: int = 0
    timelines_read: int = 0
    answered: int | None = None
    median_hours: float | None = None
    p90_hours: float | None = None
    answered_within_sla: float | None = None
    waiting_beyond_sla: int | None = None
    external_prs: int = 0
    external_prs_merged: int = 0
    external_prs_closed_unmerged: int = 0
    external_pr_merge_rate: float | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        return self.timelines_read / self.outsider_items if self.outsider_items else None


@dataclass
class ItemLine:
    """One item a maintainer can act on, linked to GitHub."""

    repo: str
    number: int
    title: str
    url: str
    author: str | None
    hours: float
    labels: str | None = None
    why: str = ""


@dataclass
class Report:
    since: date
    until: date
    sla_hours: float
    requested_since: date | None = None
    requested_until: date | None = None
    members_synced_at: datetime | None = None
    data_as_of: dict[str, datetime | None] = field(default_factory=dict)
    headlines: list[Headline] = field(default_factory=list)
    waiting_on_us: list[ItemLine] = field(default_factory=list)
    beyond_sla: list[ItemLine] = field(default_factory=list)
    trending: list[ItemLine] = field(default_factory=list)
    open_external_prs: list[ItemLine] = field(default_factory=list)
    weekly_median_hours: dict[str, float | None] = field(default_factory=dict)
    backlog_by_age: dict[str, int] = field(default_factory=dict)
    pr_outcomes_by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    empty_because: str | None = None

    @property
    def overall(self) -> Headline | None:
        return self.headlines[-1] if self.headlines else None

    def coverage_line(self) -> str:
        return coverage_text(self.overall)


def coverage_text(headline: Headline | None) -> str:
    """ "timelines read for 812 of 844 outsider items; 32 not yet": the line every format shows."""
    if headline is None or not headline.outsider_items:
        return "no items by outside contributors in this period"
    missing = headline.outsider_items - headline.timelines_read
    line = f"timelines read for {headline.timelines_read} of {headline.outsider_items} outsider items"
    return line + (f"; {missing} not yet" if missing else "")


def _created(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _headline(scope: str, rows: list[dict], prs: list[dict], sla_hours: float, members_known: bool) -> Headline:
    read = [r for r in rows if r["timeline_read"]]
    merged = sum(1 for p in prs if p["merged"])
    closed = sum(1 for p in prs if p["state"] == "closed" and not p["merged"])
    headline = Headline(
        scope=scope,
        outsider_items=len(rows),
        timelines_read=len(read),
        external_prs=len(prs),
        external_prs_merged=merged,
        external_prs_closed_unmerged=closed,
        external_pr_merge_rate=merged / (merged + closed) if merged + closed else None,
    )
    if members_known and read:
        observations = [
            (r["hours_to_first_response"], True)
            if r["hours_to_first_response"] is not None
            else (r["hours_waiting"], False)
            for r in read
        ]
        curve = kaplan_meier(observations)
        headline.answered = sum(1 for _, answered in observations if answered)
        headline.median_hours = survival_quantile(curve, 0.5)
        headline.p90_hours = survival_quantile(curve, 0.9)
        headline.answered_within_sla = answered_by(curve, sla_hours)
        headline.waiting_beyond_sla = sum(1 for r in read if _waiting(r) and r["hours_waiting"] > sla_hours)
    if rows and len(read) / len(rows) < COVERAGE_TARGET:
        headline.flags.append(f"only {100 * len(read) / len(rows):.0f}% of timelines read")
    if members_known and 0 < len(read) < SMALL_MEDIAN_SAMPLE:
        headline.flags.append(f"median from {len(read)} items")
    if 0 < merged + closed < SMALL_RATE_SAMPLE:
        headline.flags.append(f"merge rate from {merged + closed} PRs")
    return headline


def _waiting(row: dict) -> bool:
    """Open, its timeline read, and no maintainer has responded."""
    return row["state"] == "open" and row["timeline_read"] and row["hours_to_first_response"] is None


def _line(row: dict, hours: float, why: str) -> ItemLine:
    return ItemLine(
        row["repo"],
        row["number"],
        row["title"] or "",
        row["html_url"] or "",
        row.get("author"),
        hours,
        row.get("labels"),
        why,
    )


def _query(connection, sql: str, **params) -> list[dict]:
    return [dict(r._mapping) for r in connection.execute(text(sql), params)]


# What the report reads of the item views: the period's items for its figures, and open ones whenever created for
# its lists. The database filters, so a three-year org does not cost a 90-day report every row.
PERIOD_OR_OPEN = "(created_at BETWEEN :start AND :end OR state = 'open')"


def _view(connection, view: str, repos: list[str] | None, where: str = "", order: str = "", **params) -> list[dict]:
    """A view's rows in the repos asked for (all, without), filtered and ordered in the database."""
    clauses = [where] if where else []
    if repos:
        clauses.append("repo IN :repos")
    sql = f"SELECT * FROM {view}" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
    statement = text(sql + (f" ORDER BY {order}" if order else "")).bindparams(
        *[bindparam(name, type_=DateTime) for name in ("start", "end") if name in params],
        *([bindparam("repos", list(repos), expanding=True)] if repos else []),
    )
    return [dict(r._mapping) for r in connection.execute(statement, params)]


def _without_jit(connection) -> None:
    """PostgreSQL (11+) compiles a query whose estimated cost is high: the views' per-item subqueries are, and
    compiling took 3 of the 4 s of a 10x org's report for 0.4 s of work. Off for this transaction only."""
    dialect = connection.dialect
    if dialect.name == "postgresql" and (dialect.server_version_info or (0,)) >= (11,):
        connection.execute(text("SET LOCAL jit = off"))


def build_report(engine: Engine, since: date, until: date, repos: list[str] | None, sla_hours: float) -> Report:
    """Figures for items created from `since` to `until`; the lists show what waits now, whenever it was opened."""
    start, end = datetime.combine(since, datetime.min.time()), datetime.combine(until, datetime.max.time())
    with engine.connect() as connection:
        _without_jit(connection)
        items = _view(connection, "first_response", repos, PERIOD_OR_OPEN, start=start, end=end)
        prs = _view(connection, "outsider_prs", repos, PERIOD_OR_OPEN, start=start, end=end)
        follow_up = _view(connection, "needs_follow_up", repos)
        trending = _view(connection, "trending", repos, order="score DESC, id")
        known_repos = {r["repo"] for r in _query(connection, "SELECT DISTINCT repo FROM all_items")}
        members = MEMBERS_SYNCED.value(connection)
        runs = _query(connection, "SELECT job, MAX(finished_at) AS at FROM job_runs WHERE status = 'ok' GROUP BY job")
    rows = [r for r in items if start <= _created(r["created_at"]) <= end]
    period_prs = [p for p in prs if start <= _created(p["created_at"]) <= end]
    report = Report(
        since,
        until,
        sla_hours,
        requested_since=since,
        requested_until=until,
        members_synced_at=_created(members) if members else None,
        data_as_of={r["job"]: _created(r["at"]) if r["at"] else None for r in runs},
    )
    if not known_repos:
        report.empty_because = "the database has no issues or pull requests yet: load some with backfill.py"
        return report
    if repos and not set(repos) & known_repos:
        report.empty_because = (
            f"no stored items in {', '.join(repos)}; the database has "
            f"{', '.join(sorted(known_repos)[:8])}{'…' if len(known_repos) > 8 else ''}"
        )
        return report
    if not rows and not period_prs:
        report.empty_because = (
            f"no issues or pull requests by outside contributors were created from {since} to "
            f"{until}{' in ' + ', '.join(repos) if repos else ''}"
        )
        return report
    created = [_created(r["created_at"]) for r in [*rows, *period_prs]]
    report.since, report.until = max(since, min(created).date()), min(until, max(created).date())
    members_known = members is not None
    if not members_known:
        report.notes.append(
            "The org's members were never synced, so maintainers cannot be told from outsiders: first-response "
            "figures are left out. Run `python app.py every_30_min` (or backfill.py, which syncs them too)."
        )
    overall = _headline("all repos", rows, period_prs, sla_hours, members_known)
    if overall.outsider_items and overall.timelines_read < overall.outsider_items:
        unread = overall.outsider_items - overall.timelines_read
        scopes = sorted({r["repo"] for r in rows})
        only = f" --repos {','.join(scopes)}" if len(scopes) <= 5 else ""
        report.notes.append(
            f"{unread} outsider items have no timeline read yet and are left out of first-response figures. "
            f"nrt_events reads them with the budget it has left; to read them now (a token is needed for more "
            f"than a few):\n  GH_TOKEN=$(gh auth token) python backfill.py --since {report.since}{only} --events"
        )
    for repo in sorted({r["repo"] for r in rows} | {p["repo"] for p in period_prs}):
        report.headlines.append(
            _headline(
                repo,
                [r for r in rows if r["repo"] == repo],
                [p for p in period_prs if p["repo"] == repo],
                sla_hours,
                members_known,
            )
        )
    report.headlines.append(overall)
    if members_known:
        _lists(report, items, follow_up, sla_hours)
    report.trending = [
        ItemLine(
            t["repo"],
            t["number"],
            t["title"] or "",
            t["html_url"] or "",
            None,
            0.0,
            None,
            f"{t['outside_comments']} outside comments, {t['reactions']} reactions this week",
        )
        for t in trending[:LIST_LENGTH]
    ]
    open_prs = sorted((p for p in prs if p["state"] == "open"), key=lambda p: -(p["hours_open"] or 0))
    report.open_external_prs = [_line(p, p["hours_open"] or 0.0, "open") for p in open_prs[:LIST_LENGTH]]
    _charts(report, rows, period_prs, members_known)
    return report


def _lists(report: Report, items: list[dict], follow_up: list[dict], sla_hours: float) -> None:
    """What waits on the team now: unanswered outsider items and threads whose last word is an outsider's."""
    unanswered = [r for r in items if _waiting(r)]
    lines = [_line(r, r["hours_waiting"], "no response yet") for r in unanswered]
    answered_ids = {r["id"] for r in unanswered}
    by_id = {r["id"]: r for r in items}
    for row in follow_up:
        if row["id"] not in answered_ids:
            line = _line(
                {**row, "author": by_id.get(row["id"], {}).get("author")},
                row["hours_waiting"],
                f"{row['last_commenter']} commented last",
            )
            lines.append(line)
    lines.sort(key=lambda line: -line.hours)
    report.waiting_on_us = lines[:LIST_LENGTH]
    beyond = [
        _line(r, r["hours_waiting"], f"over the {sla_hours:g} h SLA")
        for r in unanswered
        if r["hours_waiting"] > sla_hours
    ]
    report.beyond_sla = sorted(beyond, key=lambda line: -line.hours)[:LIST_LENGTH]


def _charts(report: Report, rows: list[dict], prs: list[dict], members_known: bool) -> None:
    if members_known:
        weeks: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        for r in rows:
            if not r["timeline_read"]:
                continue
            created = _created(r["created_at"])
            monday = (created - timedelta(days=created.weekday())).strftime("%Y-%m-%d")
            answered = r["hours_to_first_response"] is not None
            weeks[monday].append((r["hours_to_first_response"] if answered else r["hours_waiting"], answered))
        report.weekly_median_hours = {w: survival_quantile(kaplan_meier(obs), 0.5) for w, obs in sorted(weeks.items())}
        report.backlog_by_age = {label: 0 for _, label in AGE_BUCKETS}
        for r in rows:
            if _waiting(r):
                label = next(label for limit, label in AGE_BUCKETS if r["hours_waiting"] < limit)
                report.backlog_by_age[label] += 1
    months: dict[str, dict[str, int]] = defaultdict(lambda: {"merged": 0, "closed unmerged": 0, "open": 0})
    for p in prs:
        outcome = "merged" if p["merged"] else "open" if p["state"] == "open" else "closed unmerged"
        months[_created(p["created_at"]).strftime("%Y-%m")][outcome] += 1
    report.pr_outcomes_by_month = dict(sorted(months.items()))


def hours_text(value: float | None) -> str:
    if value is None:
        return "not reached"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def share_text(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def count_text(value: int | None) -> str:
    return "n/a" if value is None else str(value)


COLUMNS = ("repo", "items", "read", "answered", "median 1st resp", "p90", "in SLA", ">SLA", "PR merge")
REPO_WIDTH = 22


def headline_cells(h: Headline) -> list[str]:
    scope = h.scope if len(h.scope) <= REPO_WIDTH else h.scope[: REPO_WIDTH - 1] + "…"
    return [
        scope,
        str(h.outsider_items),
        share_text(h.coverage),
        count_text(h.answered),
        hours_text(h.median_hours) if h.answered is not None else "n/a",
        hours_text(h.p90_hours) if h.answered is not None else "n/a",
        share_text(h.answered_within_sla),
        count_text(h.waiting_beyond_sla),
        share_text(h.external_pr_merge_rate),
    ]


def header_lines(report: Report) -> list[str]:
    """The lines every format starts with: period, coverage, members, data as of, notes."""
    lines = [
        f"Outside contributors, items created {report.since} to {report.until}, SLA {report.sla_hours:g} h",
        f"Coverage: {report.coverage_line()}",
    ]
    synced = report.members_synced_at
    lines.append(f"Members: last synced {synced:%Y-%m-%d %H:%M} UTC" if synced else "Members: never synced")
    if report.data_as_of:
        lines.append(
            "Data as of: "
            + ", ".join(f"{job} {at:%Y-%m-%d %H:%M}" for job, at in sorted(report.data_as_of.items()) if at)
            + " UTC"
        )
    return lines + report.notes


def _wrap(text_: str, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(text_, width) or [""]


def as_table(report: Report) -> str:
    """For a terminal: every line fits 100 columns."""
    if report.empty_because:
        return f"Nothing to report: {report.empty_because}."
    out = [line for text_ in header_lines(report) for part in text_.split("\n") for line in _wrap(part)] + [""]
    rows = [list(COLUMNS)] + [headline_cells(h) for h in report.headlines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    table = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    table.insert(1, "  ".join("-" * w for w in widths))
    out += table
    flagged = [f"{h.scope}: {', '.join(h.flags)}" for h in report.headlines if h.flags]
    if flagged:
        out += ["", "Read with care (small sample or low coverage):"] + [f"  {line}" for line in flagged]
    for title, lines in (
        ("Waiting on us", report.waiting_on_us),
        ("Beyond SLA", report.beyond_sla),
        ("Trending this week", report.trending),
        ("External PRs open longest", report.open_external_prs),
    ):
        if lines:
            out += ["", f"{title} ({len(lines)}):"]
            for line in lines:
                age = f"{hours_text(line.hours):>8}  " if line.hours else ""
                head = f"  {age}{line.repo}#{line.number}  "
                out.append((head + line.title)[:100])
                out.append(f"      {line.why}: {line.url}"[:100])
    return "\n".join(line.rstrip() for line in out)


def as_json(report: Report) -> str:
    data = asdict(report)
    data["coverage"] = report.coverage_line()
    return json.dumps(data, indent=2, default=str)


def as_csv(report: Report) -> str:
    """The headline table, numbers rounded: hours to a tenth, shares as whole percents."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "scope",
            "outsider_items",
            "timelines_read",
            "answered",
            "median_hours",
            "p90_hours",
            "answered_within_sla_pct",
            "waiting_beyond_sla",
            "external_prs",
            "external_prs_merged",
            "external_prs_closed_unmerged",
            "external_pr_merge_rate_pct",
            "coverage",
            "flags",
        ]
    )
    for h in report.headlines:
        writer.writerow(
            [
                h.scope,
                h.outsider_items,
                h.timelines_read,
                h.answered,
                _round(h.median_hours, 1),
                _round(h.p90_hours, 1),
                _round(h.answered_within_sla, 0, 100),
                h.waiting_beyond_sla,
                h.external_prs,
                h.external_prs_merged,
                h.external_prs_closed_unmerged,
                _round(h.external_pr_merge_rate, 0, 100),
                coverage_text(h),
                "; ".join(h.flags),
            ]
        )
    return buffer.getvalue()


def _round(value: float | None, digits: int, scale: float = 1.0):
    if value is None:
        return ""
    rounded = round(value * scale, digits)
    return int(rounded) if digits == 0 else rounded
