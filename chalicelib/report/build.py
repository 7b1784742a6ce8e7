"""How a report is built: the rows `source` reads, scoped as asked, turned by `figures` into the `model`'s
headlines, lists and series."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine

from . import figures
from .figures import created, hours_between
from .model import Headline, ItemLine, Report, ReportOptions
from .source import Source, read

SMALL_RATE_SAMPLE = 5
SMALL_MEDIAN_SAMPLE = 10
COVERAGE_TARGET = 0.9
AGE_BUCKETS = ((24, "< 1 day"), (72, "1-3 days"), (168, "3-7 days"), (720, "1-4 weeks"), (float("inf"), "> 4 weeks"))


@dataclass
class _Period:
    """The moments a report works with: its period, the one of equal length before it, and now."""

    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    now: datetime

    @classmethod
    def of(cls, since: date, until: date) -> _Period:
        length = until - since + timedelta(days=1)
        start, end = datetime.combine(since, datetime.min.time()), datetime.combine(until, datetime.max.time())
        now = datetime.now(UTC).replace(tzinfo=None)
        return cls(start, end, start - length, start - timedelta(microseconds=1), now)

    @property
    def as_of(self) -> datetime:
        """When the period's "waiting" is counted: its end, or now if it has not ended."""
        return min(self.end, self.now)


def build_report(
    engine: Engine,
    since: date,
    until: date,
    repos: list[str] | None,
    sla_hours: float,
    options: ReportOptions | None = None,
) -> Report:
    """Figures for items created from `since` to `until`, beside those of the period before; the lists show what
    waits now, whenever it was opened."""
    options = options or ReportOptions()
    period = _Period.of(since, until)
    source = read(engine, repos, period.previous_start, period.start, period.end)
    _scope(source, options)
    rows = _created_in(source.items, period.start, period.end)
    period_prs = _created_in(source.prs, period.start, period.end)
    report = Report(
        since,
        until,
        sla_hours,
        requested_since=since,
        requested_until=until,
        previous_since=period.previous_start.date(),
        previous_until=period.previous_end.date(),
        options=options,
        members_synced_at=created(source.members) if source.members else None,
        data_as_of={r["job"]: created(r["at"]) if r["at"] else None for r in source.runs},
    )
    report.empty_because = _why_empty(source.known_repos, repos, rows or period_prs, since, until, options)
    if report.empty_because:
        return report
    dates = [created(r["created_at"]) for r in [*rows, *period_prs]]
    report.since, report.until = max(since, min(dates).date()), min(until, max(dates).date())
    members_known = source.members is not None
    _notes(report, rows, members_known)
    _headlines(report, source, period, members_known)
    if members_known:
        _lists(report, source, period)
        _answer_figures(report, source, rows, period)
    _item_lists(report, source, period)
    _charts(report, rows, period_prs, members_known, source.items, period)
    return report


def _created_in(rows: list[dict], start: datetime, end: datetime) -> list[dict]:
    return [r for r in rows if start <= created(r["created_at"]) <= end]


def _scope(source: Source, options: ReportOptions) -> None:
    """Only the kind, label and authors asked for: items by an excluded user are left out of every figure and list
    (their replies to others still count)."""
    excluded = {login.lower() for login in options.exclude_users}

    def wanted(row: dict) -> bool:
        if options.kind and row.get("kind", "issue") != options.kind:
            return False
        if options.label and options.label not in _label_list(row.get("labels")):
            return False
        return (row.get("author") or "").lower() not in excluded

    for name in ("items", "prs", "follow_up", "trending"):
        setattr(source, name, [row for row in getattr(source, name) if wanted(row)])
    authors = {row["author"] for row in source.items}
    source.first_items = [row for row in source.first_items if row["username"] in authors]


def _label_list(labels: str | None) -> list[str]:
    return [name.strip() for name in (labels or "").split(",") if name.strip()]


def _why_empty(known: set[str], repos, anything: list, since: date, until: date, options: ReportOptions) -> str | None:
    """Why there is nothing to report, in words that say what to do; None when there is something."""
    if not known:
        return "the database has no issues or pull requests yet: load some with backfill.py"
    if repos and not set(repos) & known:
        shown = f"{', '.join(sorted(known)[:8])}{'…' if len(known) > 8 else ''}"
        return f"no stored items in {', '.join(repos)}; the database has {shown}"
    if not anything:
        where = " in " + ", ".join(repos) if repos else ""
        scope = options.narrowed()
        return f"no issues or pull requests by outside contributors were created from {since} to {until}{where}{scope}"
    return None


def _notes(report: Report, rows: list[dict], members_known: bool) -> None:
    """The notes that say what the figures leave out."""
    if not members_known:
        report.notes.append(
            "The org's members were never synced, so maintainers cannot be told from outsiders: first-reply and "
            "first-response figures are left out. Run `python app.py every_30_min` (or backfill.py, which syncs "
            "them too)."
        )
    unread = sum(1 for r in rows if not r["timeline_read"])
    if unread:
        scopes = sorted({r["repo"] for r in rows})
        only = f" --repos {','.join(scopes)}" if len(scopes) <= 5 else ""
        report.notes.append(
            f"{unread} outsider items have no timeline read yet and are left out of first-reply and first-response "
            f"figures. nrt_events reads them with the budget it has left; to read them now (a token is needed for "
            f"more than a few):\n  GH_TOKEN=$(gh auth token) python backfill.py --since {report.since}{only} --events"
        )


def _headlines(report: Report, source: Source, period: _Period, members_known: bool) -> None:
    """A headline per repo and one overall, each with the previous period's figures beside."""
    scopes = sorted({r["repo"] for r in _created_in(source.items + source.prs, period.start, period.end)})
    for scope in [*scopes, "all repos"]:
        headline = _headline(
            scope, _in_scope(source.items, scope), _in_scope(source.prs, scope), report, period, members_known
        )
        report.headlines.append(headline)


def _in_scope(rows: list[dict], scope: str) -> list[dict]:
    """A headline's rows: one repo's, or every repo's for "all repos"."""
    return rows if scope == "all repos" else [r for r in rows if r["repo"] == scope]


def _headline(scope, items, prs, report: Report, period: _Period, members_known: bool) -> Headline:
    rows, period_prs = _created_in(items, period.start, period.end), _created_in(prs, period.start, period.end)
    headline = Headline(scope=scope, outsider_items=len(rows), timelines_read=sum(r["timeline_read"] for r in rows))
    _outcomes(headline, rows, period_prs)
    earlier = _created_in(items, period.previous_start, period.previous_end)
    earlier_prs = _created_in(prs, period.previous_start, period.previous_end)
    if members_known:
        _answers(headline, items, rows, report, period)
        waited = figures.snapshot(items, period.previous_end, report.options.sla_basis, period.now, report.sla_hours)
        headline.previous = {
            "reply_median_hours": figures.estimate(figures.answer_observations(earlier, "first_reply")).median_hours,
            "median_hours": figures.estimate(figures.answer_observations(earlier, "first_response")).median_hours,
            "waiting": waited.waiting,
            "waiting_beyond_sla": waited.beyond_sla,
        }
    headline.previous["external_prs_merged"] = sum(1 for p in earlier_prs if p["merged"])
    if not (earlier or earlier_prs):
        headline.previous = {}  # nothing stored from then: no comparison, rather than one with zero
    _cautions(headline, members_known)
    return headline


def _outcomes(headline: Headline, rows: list[dict], prs: list[dict]) -> None:
    """What became of the items: issues closed and how fast, external PRs merged and how fast."""
    issues = [r for r in rows if r["kind"] == "issue"]
    closing = figures.estimate(figures.close_observations(issues))
    headline.issues, headline.issues_closed, headline.close_median_hours = (
        len(issues),
        closing.happened,
        closing.median_hours,
    )
    merged = sum(1 for p in prs if p["merged"])
    closed = sum(1 for p in prs if p["state"] == "closed" and not p["merged"])
    headline.external_prs, headline.external_prs_merged, headline.external_prs_closed_unmerged = (
        len(prs),
        merged,
        closed,
    )
    headline.external_pr_merge_rate = merged / (merged + closed) if merged + closed else None
    headline.merge_median_hours = figures.estimate(figures.merge_observations(prs)).median_hours


def _answers(headline: Headline, items: list[dict], rows: list[dict], report: Report, period: _Period) -> None:
    """First reply and first response for the period's items whose timeline was read; what waited at the period's
    end for the answer the SLA counts."""
    sla = report.sla_hours
    waited = figures.snapshot(items, period.as_of, report.options.sla_basis, period.now, sla)
    headline.waiting, headline.waiting_beyond_sla = waited.waiting, waited.beyond_sla
    if not headline.timelines_read:
        return
    reply = figures.estimate(figures.answer_observations(rows, "first_reply"), sla)
    response = figures.estimate(figures.answer_observations(rows, "first_response"), sla)
    headline.replied, headline.reply_median_hours, headline.reply_p90_hours = (
        reply.happened,
        reply.median_hours,
        reply.p90_hours,
    )
    headline.answered, headline.median_hours, headline.p90_hours = (
        response.happened,
        response.median_hours,
        response.p90_hours,
    )
    headline.answered_within_sla = (reply if report.options.sla_basis == "first_reply" else response).within


def _cautions(headline: Headline, members_known: bool) -> None:
    """Which cell to read with care: low coverage marks the read share, a small sample its median, few decided PRs
    the merge rate."""
    read, items = headline.timelines_read, headline.outsider_items
    if items and read / items < COVERAGE_TARGET:
        headline.cautions["read"] = f"only {100 * read / items:.0f}% of timelines read"
    if members_known and 0 < read < SMALL_MEDIAN_SAMPLE:
        headline.cautions["1st reply"] = headline.cautions["1st resp"] = f"median from {read} items"
    decided = headline.external_prs_merged + headline.external_prs_closed_unmerged
    if 0 < decided < SMALL_RATE_SAMPLE:
        headline.cautions["merge %"] = f"merge rate from {decided} PRs"


def _line(row: dict, hours: float, why: str, since=None) -> ItemLine:
    return ItemLine(
        row["repo"],
        row["number"],
        row["title"] or "",
        row["html_url"] or "",
        row.get("author"),
        hours,
        row.get("labels"),
        why,
        since,
    )


def _lists(report: Report, source: Source, period: _Period) -> None:
    """What waits on the team now: items with no answer yet (the one the SLA counts), and threads whose last word
    is an outsider's; each sorted as asked."""
    basis, sla = report.options.sla_basis, report.sla_hours
    no_answer = [r for r in source.items if figures.waiting_at(r, period.now, basis, period.now)]
    why = f"no maintainer {report.answer_word} yet"
    report.no_answer_yet = [
        _line(r, hours_between(period.now, r["created_at"]), why, created(r["created_at"])) for r in no_answer
    ]
    listed = {r["id"] for r in no_answer}
    report.outsider_spoke_last = [
        _line(r, r["hours_waiting"], f"{r['last_commenter']} commented last", created(r["last_comment_at"]))
        for r in source.follow_up
        if r["id"] not in listed
    ]
    report.beyond_sla = [
        ItemLine(**{**vars(line), "why": f"over the {sla:g} h SLA"})
        for line in report.no_answer_yet
        if line.hours > sla
    ]
    report.waiting_on_us = report.no_answer_yet + report.outsider_spoke_last
    for name in ("no_answer_yet", "outsider_spoke_last", "beyond_sla", "waiting_on_us"):
        setattr(report, name, sort_lines(getattr(report, name), report.options.sort, sla))


def sort_lines(lines: list[ItemLine], order: str, sla_hours: float) -> list[ItemLine]:
    """`longest` waiting first; or `newest-breach`: those past the SLA, the latest to pass it first, then the ones
    closest to passing it."""
    if order == "newest-breach":
        return sorted(lines, key=lambda line: (line.hours <= sla_hours, abs(line.hours - sla_hours)))
    return sorted(lines, key=lambda line: -line.hours)


def _answer_figures(report: Report, source: Source, rows: list[dict], period: _Period) -> None:
    """Who answers, how newcomers fare, and how long items sit in the labels a team uses as states."""
    report.responders = figures.responders(rows)
    activity: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for row in source.later_activity:
        activity[row["username"]].append((row["item_id"], created(row["created_at"])))
    outsiders = {r["author"] for r in rows}
    firsts = {row["username"]: row for row in source.first_items if row["username"] in outsiders}
    report.newcomers = figures.newcomers(firsts, activity, period.now)
    new_logins = set(firsts)
    report.newcomers_waiting = [line for line in report.waiting_on_us if line.author in new_logins]
    in_period = {r["id"]: r for r in rows}
    open_now = {r["id"]: r for r in source.items if r["state"] == "open"}
    timed = {**open_now, **in_period}
    labels = figures.timer_labels(report.options.label_timers, {e["label"] for e in source.label_events if e["label"]})
    found = figures.stays(source.label_events, timed, labels, period.now)
    report.label_timers = figures.label_timers(found, labels, period.start, period.end)
    for timer in report.label_timers:
        report.sitting_in_label[timer.label] = [
            _line(timed[item_id], hours, f"in {timer.label}")
            for item_id, hours in timer.sitting_now
            if timed[item_id]["state"] == "open"
        ]


def _item_lists(report: Report, source: Source, period: _Period) -> None:
    report.open_unread_before = sum(
        1
        for r in source.items
        if r["state"] == "open" and not r["timeline_read"] and created(r["created_at"]) < period.start
    )
    report.trending = [_trending_line(t) for t in source.trending]
    open_prs = sorted((p for p in source.prs if p["state"] == "open"), key=lambda p: -(p["hours_open"] or 0))
    report.open_external_prs = [_line(p, p["hours_open"] or 0.0, "open") for p in open_prs]


def _trending_line(row: dict) -> ItemLine:
    why = f"{row['outside_comments']} outside comments, {row['reactions']} reactions this week"
    return _line(row, 0.0, why)


def _charts(report: Report, rows, prs, members_known: bool, items: list[dict], period: _Period) -> None:
    """The weekly trends per repo, the backlog by age and the external PRs' outcomes by month."""
    if members_known:
        basis = report.options.sla_basis
        for scope in [h.scope for h in report.headlines]:
            scoped = _in_scope(items, scope), _in_scope(prs, scope)
            report.weekly[scope] = figures.weekly(*scoped, period.start, period.end, basis, period.now)
        report.backlog_by_age = {label: 0 for _, label in AGE_BUCKETS}
        for line in report.no_answer_yet:
            label = next(label for limit, label in AGE_BUCKETS if line.hours < limit)
            report.backlog_by_age[label] += 1
    months: dict[str, dict[str, int]] = defaultdict(lambda: {"merged": 0, "closed unmerged": 0, "open": 0})
    for p in prs:
        outcome = "merged" if p["merged"] else "open" if p["state"] == "open" else "closed unmerged"
        months[created(p["created_at"]).strftime("%Y-%m")][outcome] += 1
    report.pr_outcomes_by_month = dict(sorted(months.items()))
