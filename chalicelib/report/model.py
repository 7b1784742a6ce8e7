"""What the report says, from the insight views: figures a team can trust, and the items to act on.

Time to first response is a survival estimate (Kaplan-Meier): an unanswered item counts as still waiting (censored
at its age, or at its close if it was closed unanswered), so a team that leaves many outsiders waiting does not
look fast because the few it answered were answered quickly. Only items whose timeline was read count: an item
never looked at is not "unanswered", it is counted apart. Without the org's members, nobody can be told from a
maintainer, so first-response figures are refused rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Engine

from ..state import MEMBERS_SYNCED
from .survival import answered_by, kaplan_meier, survival_quantile

AGE_BUCKETS = ((24, "< 1 day"), (72, "1-3 days"), (168, "3-7 days"), (720, "1-4 weeks"), (float("inf"), "> 4 weeks"))
COVERAGE_TARGET = 0.9
SMALL_MEDIAN_SAMPLE = 10
SMALL_RATE_SAMPLE = 5


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
    # Open outsider items opened before the period whose timeline was never read: they may wait on a maintainer,
    # and the waiting lists cannot show them until nrt_events reads them.
    open_unread_before: int = 0

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


def _read_only(connection) -> None:
    """A report only reads: on PostgreSQL its transaction says so (a write would fail), and JIT is off, because
    PostgreSQL (11+) compiles a query whose estimated cost is high: the views' per-item subqueries are, and
    compiling took 3 of the 4 s of a 10x org's report for 0.4 s of work."""
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return
    connection.execute(text("SET TRANSACTION READ ONLY"))
    if (dialect.server_version_info or (0,)) >= (11,):
        connection.execute(text("SET LOCAL jit = off"))


LAST_SUCCESSES = "SELECT job, MAX(finished_at) AS at FROM job_runs WHERE status = 'ok' GROUP BY job"


@dataclass
class _Source:
    """What one report reads from the database, in one transaction."""

    items: list[dict]
    prs: list[dict]
    follow_up: list[dict]
    trending: list[dict]
    known_repos: set[str]
    members: datetime | None
    runs: list[dict]


def _read(engine: Engine, repos: list[str] | None, start: datetime, end: datetime) -> _Source:
    with engine.connect() as connection:
        _read_only(connection)
        return _Source(
            items=_view(connection, "first_response", repos, PERIOD_OR_OPEN, start=start, end=end),
            prs=_view(connection, "outsider_prs", repos, PERIOD_OR_OPEN, start=start, end=end),
            follow_up=_view(connection, "needs_follow_up", repos),
            trending=_view(connection, "trending", repos, order="score DESC, id"),
            known_repos={r["repo"] for r in _query(connection, "SELECT DISTINCT repo FROM all_items")},
            members=MEMBERS_SYNCED.value(connection),
            runs=_query(
                connection, "SELECT job, MAX(finished_at) AS at FROM job_runs WHERE status = 'ok' GROUP BY job"
            ),
        )


def build_report(engine: Engine, since: date, until: date, repos: list[str] | None, sla_hours: float) -> Report:
    """Figures for items created from `since` to `until`; the lists show what waits now, whenever it was opened."""
    start, end = datetime.combine(since, datetime.min.time()), datetime.combine(until, datetime.max.time())
    source = _read(engine, repos, start, end)
    rows = [r for r in source.items if start <= _created(r["created_at"]) <= end]
    period_prs = [p for p in source.prs if start <= _created(p["created_at"]) <= end]
    report = Report(
        since,
        until,
        sla_hours,
        requested_since=since,
        requested_until=until,
        members_synced_at=_created(source.members) if source.members else None,
        data_as_of={r["job"]: _created(r["at"]) if r["at"] else None for r in source.runs},
    )
    report.empty_because = _why_empty(source.known_repos, repos, rows or period_prs, since, until)
    if report.empty_because:
        return report
    created = [_created(r["created_at"]) for r in [*rows, *period_prs]]
    report.since, report.until = max(since, min(created).date()), min(until, max(created).date())
    members_known = source.members is not None
    _headlines(report, rows, period_prs, members_known)
    if members_known:
        _lists(report, source.items, source.follow_up, sla_hours)
        _beyond_sla_counts(report)
    report.open_unread_before = sum(
        1 for r in source.items if r["state"] == "open" and not r["timeline_read"] and _created(r["created_at"]) < start
    )
    report.trending = [_trending_line(t) for t in source.trending]
    open_prs = sorted((p for p in source.prs if p["state"] == "open"), key=lambda p: -(p["hours_open"] or 0))
    report.open_external_prs = [_line(p, p["hours_open"] or 0.0, "open") for p in open_prs]
    _charts(report, rows, period_prs, members_known, source.items)
    return report


def _why_empty(known: set[str], repos: list[str] | None, anything: list, since: date, until: date) -> str | None:
    """Why there is nothing to report, in words that say what to do; None when there is something."""
    if not known:
        return "the database has no issues or pull requests yet: load some with backfill.py"
    if repos and not set(repos) & known:
        shown = f"{', '.join(sorted(known)[:8])}{'…' if len(known) > 8 else ''}"
        return f"no stored items in {', '.join(repos)}; the database has {shown}"
    if not anything:
        where = " in " + ", ".join(repos) if repos else ""
        return f"no issues or pull requests by outside contributors were created from {since} to {until}{where}"
    return None


def _headlines(report: Report, rows: list[dict], prs: list[dict], members_known: bool) -> None:
    """A headline per repo and one overall, with the notes that say what the figures leave out."""
    sla_hours = report.sla_hours
    if not members_known:
        report.notes.append(
            "The org's members were never synced, so maintainers cannot be told from outsiders: first-response "
            "figures are left out. Run `python app.py every_30_min` (or backfill.py, which syncs them too)."
        )
    overall = _headline("all repos", rows, prs, sla_hours, members_known)
    if overall.outsider_items and overall.timelines_read < overall.outsider_items:
        unread = overall.outsider_items - overall.timelines_read
        scopes = sorted({r["repo"] for r in rows})
        only = f" --repos {','.join(scopes)}" if len(scopes) <= 5 else ""
        report.notes.append(
            f"{unread} outsider items have no timeline read yet and are left out of first-response figures. "
            f"nrt_events reads them with the budget it has left; to read them now (a token is needed for more "
            f"than a few):\n  GH_TOKEN=$(gh auth token) python backfill.py --since {report.since}{only} --events"
        )
    for repo in sorted({r["repo"] for r in rows} | {p["repo"] for p in prs}):
        in_repo = [r for r in rows if r["repo"] == repo], [p for p in prs if p["repo"] == repo]
        report.headlines.append(_headline(repo, *in_repo, sla_hours, members_known))
    report.headlines.append(overall)


def _trending_line(row: dict) -> ItemLine:
    why = f"{row['outside_comments']} outside comments, {row['reactions']} reactions this week"
    return ItemLine(row["repo"], row["number"], row["title"] or "", row["html_url"] or "", None, 0.0, None, why)


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
    report.waiting_on_us = lines
    beyond = [
        _line(r, r["hours_waiting"], f"over the {sla_hours:g} h SLA")
        for r in unanswered
        if r["hours_waiting"] > sla_hours
    ]
    report.beyond_sla = sorted(beyond, key=lambda line: -line.hours)


def _beyond_sla_counts(report: Report) -> None:
    """Each headline's >SLA is its share of the Beyond SLA list: one definition, the same number everywhere."""
    for headline in report.headlines:
        in_scope = [line for line in report.beyond_sla if headline.scope in ("all repos", line.repo)]
        headline.waiting_beyond_sla = len(in_scope)


def _charts(report: Report, rows: list[dict], prs: list[dict], members_known: bool, items: list[dict]) -> None:
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
        for r in items:
            if _waiting(r):
                label = next(label for limit, label in AGE_BUCKETS if r["hours_waiting"] < limit)
                report.backlog_by_age[label] += 1
    months: dict[str, dict[str, int]] = defaultdict(lambda: {"merged": 0, "closed unmerged": 0, "open": 0})
    for p in prs:
        outcome = "merged" if p["merged"] else "open" if p["state"] == "open" else "closed unmerged"
        months[_created(p["created_at"]).strftime("%Y-%m")][outcome] += 1
    report.pr_outcomes_by_month = dict(sorted(months.items()))
