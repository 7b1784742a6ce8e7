"""The report's figures from the rows the insight views give, as pure functions of those rows and a moment.

Every time-to-something figure is a survival estimate (`survival.kaplan_meier`): what has not happened yet (no
reply, not closed, not merged, still labelled) counts as still waiting, censored at now or at the item's close,
so open items pull a median up instead of dropping out of it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .survival import answered_by, kaplan_meier, survival_quantile

# The two answers an outsider can get: words (a maintainer's comment or review), or any action (a reply, a label,
# an assignment, a close). Each names the view's columns: when it came, and its hours from the item's opening.
MEASURES = {
    "first_reply": ("replied_at", "hours_to_first_reply"),
    "first_response": ("responded_at", "hours_to_first_response"),
}
RETURN_WINDOW = timedelta(days=90)
DEFAULT_TIMER_WORDS = ("pending", "triage", "response")


def created(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def optional_time(value) -> datetime | None:
    return None if value is None else created(value)


@dataclass
class Estimate:
    """A survival estimate: how many of `observed` the event happened to, and when half and nine in ten had."""

    observed: int = 0
    happened: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    within: float | None = None


def estimate(observations: list[tuple[float, bool]], within_hours: float | None = None) -> Estimate:
    if not observations:
        return Estimate()
    curve = kaplan_meier(observations)
    return Estimate(
        observed=len(observations),
        happened=sum(1 for _, happened in observations if happened),
        median_hours=survival_quantile(curve, 0.5),
        p90_hours=survival_quantile(curve, 0.9),
        within=answered_by(curve, within_hours) if within_hours is not None else None,
    )


def answer_observations(rows: Iterable[dict], measure: str) -> list[tuple[float, bool]]:
    """(hours, answered) for each item whose timeline was read: the hours to its answer, or, unanswered, the hours
    it was observed (to its close, or to now)."""
    _, hours = MEASURES[measure]
    return [
        (row[hours], True) if row[hours] is not None else (row["hours_observed"], False)
        for row in rows
        if row["timeline_read"]
    ]


def close_observations(issues: Iterable[dict]) -> list[tuple[float, bool]]:
    """Hours from opening to close, an open issue censored at now."""
    return [(row["hours_observed"], row["closed_at"] is not None) for row in issues]


def merge_observations(prs: Iterable[dict]) -> list[tuple[float, bool]]:
    """Hours from opening to merge; a PR still open is censored at now, one closed unmerged at its close."""
    return [(row["hours_observed"], bool(row["merged"])) for row in prs]


def waiting_at(row: dict, moment: datetime, measure: str, now: datetime) -> bool:
    """Whether the item waited for its first answer at `moment`: read, opened by then, not answered by then, and
    still open then (now: open; before now: not yet closed)."""
    answered_at = optional_time(row[MEASURES[measure][0]])
    if not row["timeline_read"] or created(row["created_at"]) > moment:
        return False
    if answered_at is not None and answered_at <= moment:
        return False
    if moment >= now:
        return row["state"] == "open"
    closed_at = optional_time(row["closed_at"])
    return closed_at is None or closed_at > moment


def hours_between(later: datetime, earlier) -> float:
    return (later - created(earlier)).total_seconds() / 3600


@dataclass
class Snapshot:
    """What waited on a first answer at one moment: how many, and how many of them longer than the SLA."""

    waiting: int
    beyond_sla: int


def snapshot(rows: Iterable[dict], moment: datetime, measure: str, now: datetime, sla_hours: float) -> Snapshot:
    waiting = [row for row in rows if waiting_at(row, moment, measure, now)]
    beyond = sum(1 for row in waiting if hours_between(moment, row["created_at"]) > sla_hours)
    return Snapshot(len(waiting), beyond)


def monday(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


@dataclass
class Week:
    """One week of a trend: items opened that week (their median first reply and first response), what waited at
    the week's end, and the external PRs merged in it."""

    week: str
    median_first_reply_hours: float | None
    median_first_response_hours: float | None
    waiting_at_end: int
    external_prs_merged: int


def weekly(rows: list[dict], prs: list[dict], start: datetime, end: datetime, measure: str, now: datetime):
    """The period's weeks (Monday to Sunday) in order, each a `Week`."""
    weeks = []
    first = monday(start)
    while first <= end:
        last = first + timedelta(days=7)
        opened = [row for row in rows if first <= created(row["created_at"]) < last]
        merged = sum(1 for pr in prs if pr["merged"] and pr["closed_at"] and first <= created(pr["closed_at"]) < last)
        weeks.append(
            Week(
                f"{first:%Y-%m-%d}",
                estimate(answer_observations(opened, "first_reply")).median_hours,
                estimate(answer_observations(opened, "first_response")).median_hours,
                snapshot(rows, min(last, now), measure, now, 0).waiting,
                merged,
            )
        )
        first = last
    return weeks


def responders(rows: Iterable[dict]) -> list[tuple[str, int]]:
    """Who gave the first reply, and to how many items: how the load is shared, most first."""
    counted = Counter(row["replier"] for row in rows if row["timeline_read"] and row["replier"])
    return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))


def timer_labels(configured: tuple[str, ...], names: Iterable[str]) -> list[str]:
    """The labels timed: those configured (LABEL_TIMERS), or else those whose names say they are a state."""
    if configured:
        return list(configured)
    return sorted({name for name in names if any(word in name.lower() for word in DEFAULT_TIMER_WORDS)})


@dataclass
class Stay:
    """One stay of an item in a label: from `labeled` to `unlabeled`, or to the item's close; `ended` is False
    while the label is still on an open item."""

    item_id: int
    label: str
    since: datetime
    hours: float
    ended: bool


def stays(label_events: Iterable[dict], items: dict[int, dict], labels: list[str], now: datetime) -> list[Stay]:
    """The stays in `labels` of `items`, from their `labeled`/`unlabeled` events in time order."""
    found, opened = [], {}
    for event in sorted(label_events, key=lambda e: (created(e["created_at"]), e["id"])):
        key, at = (event["issue_id"], event["label"]), created(event["created_at"])
        if event["label"] not in labels or event["issue_id"] not in items:
            continue
        if event["event"] == "labeled":
            opened.setdefault(key, at)
        elif key in opened:
            start = opened.pop(key)
            found.append(Stay(key[0], key[1], start, hours_between(at, start), True))
    for (item_id, label), start in opened.items():
        closed_at = optional_time(items[item_id]["closed_at"])
        end = closed_at if closed_at and closed_at >= start else now
        found.append(Stay(item_id, label, start, hours_between(end, start), end is closed_at))
    return found


@dataclass
class LabelTimer:
    """How long items sat in one label: a survival estimate over the stays that began in the period, and the open
    items sitting in it now, longest first (as (item id, hours))."""

    label: str
    stays: Estimate
    sitting_now: list[tuple[int, float]] = field(default_factory=list)


def label_timers(found: list[Stay], labels: list[str], start: datetime, end: datetime) -> list[LabelTimer]:
    by_label: dict[str, list[Stay]] = defaultdict(list)
    for stay in found:
        by_label[stay.label].append(stay)
    timers = []
    for label in labels:
        in_period = [(s.hours, s.ended) for s in by_label[label] if start <= s.since <= end]
        sitting = sorted(((s.item_id, s.hours) for s in by_label[label] if not s.ended), key=lambda p: -p[1])
        timers.append(LabelTimer(label, estimate(in_period), sitting))
    return timers


@dataclass
class Newcomers:
    """Outsiders whose first item (in the repos reported) was opened in the period, and how many came back with
    another item, or a comment on another item, within 90 days: a survival estimate, so a newcomer of last week
    who has not come back yet counts as not yet, not as never."""

    count: int = 0
    came_back: int = 0
    returned_within_90_days: float | None = None
    logins: list[str] = field(default_factory=list)


def newcomers(first_items: dict[str, dict], activity: dict[str, list[tuple[int, datetime]]], now: datetime):
    """`first_items`: each newcomer's first item; `activity`: each one's (item id, when) of items and comments."""
    observations = []
    for login, first in first_items.items():
        opened = created(first["created_at"])
        later = [at for item_id, at in activity.get(login, ()) if item_id != first["id"] and at > opened]
        if later:
            observations.append((hours_between(min(later), opened), True))
        else:
            observations.append((hours_between(now, opened), False))
    window = RETURN_WINDOW.total_seconds() / 3600
    found = estimate(observations, window)
    return Newcomers(
        count=len(first_items),
        came_back=sum(1 for hours, returned in observations if returned and hours <= window),
        returned_within_90_days=found.within,
        logins=sorted(first_items),
    )
