"""What the report says, from the insight views: figures a team can trust, and the items to act on.

Times to a first reply, to a first response, to close and to merge are survival estimates (Kaplan-Meier, see
`figures`): an item still waiting counts as waiting (censored at its age, or at its close if it was closed
unanswered), so a team that leaves many outsiders waiting does not look fast because the few it answered were
answered quickly. Only items whose timeline was read count for answers: an item never looked at is not
"unanswered", it is counted apart. Without the org's members, nobody can be told from a maintainer, so answer
figures are refused rather than guessed. Each headline stands beside the same figure for the previous period of
equal length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .figures import LabelTimer, Newcomers, Week

ANSWER_WORDS = {"first_reply": "reply", "first_response": "response"}
SORTS = ("longest", "newest-breach")
KINDS = ("issue", "pr")


@dataclass(frozen=True)
class ReportOptions:
    """How a report is scoped and which answer its SLA counts (first reply by default: a label is not an answer)."""

    sla_basis: str = "first_reply"
    kind: str | None = None
    label: str | None = None
    exclude_users: tuple[str, ...] = ()
    label_timers: tuple[str, ...] = ()
    sort: str = "longest"

    def narrowed(self) -> str:
        """ " (kind pr; label bug; excluding items by a, b)", or "" for the whole report: how every format and
        the empty report's reason say what was asked."""
        parts = [f"{name} {value}" for name, value in (("kind", self.kind), ("label", self.label)) if value]
        parts += [f"excluding items by {', '.join(self.exclude_users)}"] if self.exclude_users else []
        return f" ({'; '.join(parts)})" if parts else ""


@dataclass
class Headline:
    """One scope's figures. `answered`/`median_hours`/`p90_hours` are the first response (any maintainer action);
    `replied`/`reply_*` the first reply (a maintainer's words). `waiting` and `waiting_beyond_sla` count items
    waiting for the SLA's answer at the period's end; `previous` holds the headline figures of the period before;
    `cautions` says which cell to read with care, and why."""

    scope: str
    outsider_items: int = 0
    timelines_read: int = 0
    answered: int | None = None
    median_hours: float | None = None
    p90_hours: float | None = None
    replied: int | None = None
    reply_median_hours: float | None = None
    reply_p90_hours: float | None = None
    answered_within_sla: float | None = None
    waiting: int | None = None
    waiting_beyond_sla: int | None = None
    issues: int = 0
    issues_closed: int = 0
    close_median_hours: float | None = None
    external_prs: int = 0
    external_prs_merged: int = 0
    external_prs_closed_unmerged: int = 0
    external_pr_merge_rate: float | None = None
    merge_median_hours: float | None = None
    previous: dict[str, float | int | None] = field(default_factory=dict)
    cautions: dict[str, str] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return self.timelines_read / self.outsider_items if self.outsider_items else None

    @property
    def flags(self) -> list[str]:
        return list(dict.fromkeys(self.cautions.values()))


@dataclass
class ItemLine:
    """One item a maintainer can act on, linked to GitHub; `hours` it has waited (since `waiting_since`)."""

    repo: str
    number: int
    title: str
    url: str
    author: str | None
    hours: float
    labels: str | None = None
    why: str = ""
    waiting_since: datetime | None = None


@dataclass
class Report:
    since: date
    until: date
    sla_hours: float
    requested_since: date | None = None
    requested_until: date | None = None
    previous_since: date | None = None
    previous_until: date | None = None
    options: ReportOptions = field(default_factory=ReportOptions)
    members_synced_at: datetime | None = None
    data_as_of: dict[str, datetime | None] = field(default_factory=dict)
    headlines: list[Headline] = field(default_factory=list)
    no_answer_yet: list[ItemLine] = field(default_factory=list)
    outsider_spoke_last: list[ItemLine] = field(default_factory=list)
    waiting_on_us: list[ItemLine] = field(default_factory=list)
    beyond_sla: list[ItemLine] = field(default_factory=list)
    newcomers_waiting: list[ItemLine] = field(default_factory=list)
    trending: list[ItemLine] = field(default_factory=list)
    open_external_prs: list[ItemLine] = field(default_factory=list)
    weekly: dict[str, list[Week]] = field(default_factory=dict)
    responders: list[tuple[str, int]] = field(default_factory=list)
    newcomers: Newcomers = field(default_factory=Newcomers)
    label_timers: list[LabelTimer] = field(default_factory=list)
    sitting_in_label: dict[str, list[ItemLine]] = field(default_factory=dict)
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

    @property
    def answer_word(self) -> str:
        """ "reply" or "response": the answer the SLA counts."""
        return ANSWER_WORDS[self.options.sla_basis]

    def coverage_line(self) -> str:
        return coverage_text(self.overall)


def coverage_text(headline: Headline | None) -> str:
    """ "timelines read for 812 of 844 outsider items; 32 not yet": the line every format shows."""
    if headline is None or not headline.outsider_items:
        return "no items by outside contributors in this period"
    missing = headline.outsider_items - headline.timelines_read
    line = f"timelines read for {headline.timelines_read} of {headline.outsider_items} outsider items"
    return line + (f"; {missing} not yet" if missing else "")
