"""The report as text for a person (table), for scripts (JSON) and for spreadsheets (CSV), and the cells the
HTML page and the digest share with them."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict

from .model import Headline, ItemLine, Report, coverage_text


def hours_text(value: float | None) -> str:
    if value is None:
        return "not reached"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def share_text(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def count_text(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def hours_cell(value: float | None) -> str:
    """Hours for a table cell: "n/r" where the median or p90 was never reached (the legend says so)."""
    return "n/r" if value is None else hours_text(value)


def change_text(now: float | int | None, before: float | int | None, hours: bool = False) -> str:
    """The change from the previous period, as "+3" or "-2.5 h" ("" when either side is unknown)."""
    if now is None or before is None:
        return ""
    delta = now - before
    if not delta:
        return "no change"
    sign = "+" if delta > 0 else "-"
    return f"{sign}{hours_text(abs(delta))}" if hours else f"{sign}{abs(delta):g}"


REPO_WIDTH = 22
ANSWER_COLUMNS = ("repo", "items", "read", "replied", "1st reply", "answered", "1st resp", "in SLA", "waiting", ">SLA")
OUTCOME_COLUMNS = ("repo", "issues", "closed", "to close", "ext PRs", "merged", "to merge", "merge %")
LEGEND = (
    "1st reply: median hours to a maintainer's first comment or review; 1st resp: to any maintainer action (a reply, "
    "label, assignment or close); replied, answered: how many got one; in SLA: share answered within the SLA; "
    "waiting, >SLA: items waiting for the SLA's answer at the period's end, and those past the SLA; to close, to "
    "merge: median hours from opening (issues; external PRs); n/r: not reached (fewer than half got there); "
    "*: read with care"
)


def _scope_cell(scope: str) -> str:
    return scope if len(scope) <= REPO_WIDTH else scope[: REPO_WIDTH - 1] + "…"


def answer_cells(h: Headline) -> list[str]:
    known = h.answered is not None
    return [
        _scope_cell(h.scope),
        str(h.outsider_items),
        share_text(h.coverage),
        count_text(h.replied),
        hours_cell(h.reply_median_hours) if known else "n/a",
        count_text(h.answered),
        hours_cell(h.median_hours) if known else "n/a",
        share_text(h.answered_within_sla),
        count_text(h.waiting),
        count_text(h.waiting_beyond_sla),
    ]


def outcome_cells(h: Headline) -> list[str]:
    return [
        _scope_cell(h.scope),
        str(h.issues),
        str(h.issues_closed),
        hours_cell(h.close_median_hours) if h.issues else "n/a",
        str(h.external_prs),
        str(h.external_prs_merged),
        hours_cell(h.merge_median_hours) if h.external_prs else "n/a",
        share_text(h.external_pr_merge_rate),
    ]


# The headline tables: title, columns, and the cells of a headline for them.
TABLES = (
    ("Answers to outside contributors", ANSWER_COLUMNS, answer_cells),
    ("What became of their items", OUTCOME_COLUMNS, outcome_cells),
)


def header_lines(report: Report) -> list[str]:
    """The lines every format starts with: period, coverage, members, data as of, notes."""
    lines = [
        f"Outside contributors, items created {report.since} to {report.until}, SLA {report.sla_hours:g} h to a "
        f"first {report.answer_word}{report.options.narrowed()}",
        f"Coverage: {report.coverage_line()}",
        f"Compared with: items created {report.previous_since} to {report.previous_until}",
    ]
    unread = report.open_unread_before
    if unread:
        items, have = ("item", "has") if unread == 1 else ("items", "have")
        lines.append(
            f"Waiting lists: {unread} open {items} opened before the period {have} no timeline read yet, so the "
            "lists cannot show them; nrt_events reads them"
        )
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


# What a terminal would act on rather than show: C0 and C1 controls (ESC starts colour, cursor and OSC window
# title sequences; CR and BS overwrite a line) and the bidirectional overrides that reorder what is read.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text someone else wrote, safe to print to a terminal: each control character shown as its escape."""
    return _CONTROL.sub(_escaped, text)


def _escaped(found: re.Match) -> str:
    code = ord(found.group())
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


# Items a list shows on the page and in the table; the whole list is in the JSON and in `report.py --list`.
SHOWN = 25
# The lists by the name `report.py --list` takes, each with the attribute holding it and its title ({answer} is
# the answer the SLA counts: reply or response). "waiting" is the two lists after it together, for `--list`.
LISTS = {
    "waiting": ("waiting_on_us", "Waiting on us"),
    "no-answer": ("no_answer_yet", "No maintainer {answer} yet"),
    "outsider-last": ("outsider_spoke_last", "An outsider spoke last"),
    "beyond-sla": ("beyond_sla", "Beyond SLA"),
    "newcomers-waiting": ("newcomers_waiting", "First-time contributors waiting"),
    "trending": ("trending", "Trending this week"),
    "external-prs": ("open_external_prs", "External PRs open longest"),
}
# The lists the table and the page show, in order ("waiting" would repeat two of them).
SHOWN_LISTS = ("no-answer", "outsider-last", "beyond-sla", "newcomers-waiting", "trending", "external-prs")


# What each list and count holds, as the page and the table say it; the same definition wherever it is used.
DEFINITIONS = {
    "waiting": "the two lists below together: open outsider items with no maintainer {answer} yet, and those whose "
    "last comment is an outsider's",
    "no-answer": "open outsider items, whenever opened, with no maintainer {answer} yet (the waiting column counts "
    "them at the period's end)",
    "outsider-last": "open items, whenever opened, that had their maintainer {answer} but whose last comment is an "
    "outsider's: waiting since that comment",
    "beyond-sla": "the first list's items waiting longer than the SLA (the >SLA column counts them)",
    "newcomers-waiting": "items waiting on us whose author's first item was opened in this period",
    "trending": "open issues with the most outside comments and reactions in the last 7 days",
    "external-prs": "open pull requests by outsiders, longest open first",
}


def list_title(report: Report, name: str) -> str:
    return LISTS[name][1].format(answer=report.answer_word)


def list_definition(report: Report, name: str) -> str:
    """The list's definition as a sentence (capitalised without lowering "SLA")."""
    text = DEFINITIONS[name].format(answer=report.answer_word)
    return text[:1].upper() + text[1:] + "."


def list_heading(title: str, lines: list) -> str:
    """A list's title with its true count, and how many of them are shown when not all are."""
    return f"{title} ({len(lines)})" if len(lines) <= SHOWN else f"{title} ({len(lines)}, {SHOWN} shown)"


def list_csv(lines: list[ItemLine]) -> str:
    """A whole list as CSV, one item a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["repo", "number", "title", "url", "author", "hours", "labels", "why"])
    for line in lines:
        writer.writerow(
            [
                line.repo,
                line.number,
                line.title,
                line.url,
                line.author or "",
                _round(line.hours, 1),
                line.labels or "",
                line.why,
            ]
        )
    return buffer.getvalue()


def list_table(title: str, lines: list[ItemLine]) -> str:
    """A whole list for a terminal."""
    return "\n".join([f"{title} ({len(lines)}):", *[text for line in lines for text in _line_texts(line)]])


def _line_texts(line: ItemLine) -> list[str]:
    age = f"{hours_text(line.hours):>8}  " if line.hours else ""
    head = f"  {age}{printable(line.repo)}#{line.number}  "
    return [(head + printable(line.title))[:100], f"      {printable(line.why)}: {printable(line.url)}"]


def _text_table(columns: tuple[str, ...], cells, headlines: list[Headline]) -> list[str]:
    """One headline table for a terminal; a cell to read with care ends in "*"."""
    rows = [list(columns)]
    for h in headlines:
        row = [printable(cell) for cell in cells(h)]
        rows.append([cell + ("*" if columns[i] in h.cautions else "") for i, cell in enumerate(row)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    table = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    table.insert(1, "  ".join("-" * w for w in widths))
    return table


def as_table(report: Report) -> str:
    """For a terminal: every line fits 100 columns but a URL, which is never cut (the title is shortened
    instead); what outsiders wrote is shown with its control characters escaped."""
    if report.empty_because:
        return f"Nothing to report: {report.empty_because}."
    out = [line for text_ in header_lines(report) for part in text_.split("\n") for line in _wrap(part)]
    for title, columns, cells in TABLES:
        out += ["", f"{title}:", *_text_table(columns, cells, report.headlines)]
    out += ["", *_wrap(LEGEND)]
    flagged = [f"{printable(h.scope)}: {', '.join(h.flags)}" for h in report.headlines if h.flags]
    if flagged:
        out += ["", "Read with care (*):"] + [f"  {line}" for line in flagged]
    out += _text_figures(report)
    for name in SHOWN_LISTS:
        lines = getattr(report, LISTS[name][0])
        if lines:
            out += [
                "",
                list_heading(list_title(report, name), lines) + ":",
                *["  " + line for line in _wrap(list_definition(report, name), 98)],
            ]
            out += [text for line in lines[:SHOWN] for text in _line_texts(line)]
            if len(lines) > SHOWN:
                out.append(f"  ... and {len(lines) - SHOWN} more: python report.py --list {name}")
    return "\n".join(line.rstrip() for line in out)


RESPONDERS_NAMED = 10


def responders_text(report: Report) -> str:
    """ "maria 12, leo 7 (and 3 more with 4)": who gave the period's first replies, most first."""
    if not report.responders:
        return "nobody replied"
    named = ", ".join(f"{login} {count}" for login, count in report.responders[:RESPONDERS_NAMED])
    rest = report.responders[RESPONDERS_NAMED:]
    return named + (f" (and {len(rest)} more with {sum(count for _, count in rest)})" if rest else "")


# The headline figures compared with the previous period: (what, attribute, whether it is hours).
COMPARED = (
    ("median first reply", "reply_median_hours", True),
    ("median first response", "median_hours", True),
    ("waiting", "waiting", False),
    ("beyond SLA", "waiting_beyond_sla", False),
    ("external PRs merged", "external_prs_merged", False),
)


def compared_text(headline: Headline) -> str:
    """ "median first reply 41.0 h (was 38.5 h), ...": each headline figure beside the previous period's."""
    if not headline.previous:
        return "nothing stored from the previous period to compare with"
    parts = []
    for what, attribute, hours in COMPARED:
        now, before = getattr(headline, attribute), headline.previous.get(attribute)
        shown = hours_text if hours else count_text
        parts.append(f"{what} {shown(now)} (was {shown(before)})")
    return ", ".join(parts)


def newcomers_text(report: Report) -> str:
    n = report.newcomers
    if not n.count:
        return "no outsider opened a first item in this period"
    back = share_text(n.returned_within_90_days)
    return (
        f"{n.count} outsiders opened their first item in this period; {n.came_back} came back with another item or "
        f"comment, an estimated {back} within 90 days"
    )


def label_text(timer) -> str:
    stays = timer.stays
    if not stays.observed:
        return f"{timer.label}: no item entered it in this period; {len(timer.sitting_now)} sit in it now"
    return (
        f"{timer.label}: {stays.observed} stays began in this period, median {hours_text(stays.median_hours)}, "
        f"{stays.observed - stays.happened} not over yet; {len(timer.sitting_now)} items sit in it now"
    )


def _text_figures(report: Report) -> list[str]:
    """Who answers, newcomers and time in label, one line each."""
    if report.members_synced_at is None:
        return []
    out = [
        "",
        f"Against the previous period: {compared_text(report.overall)}",
        f"Who gave the first replies: {responders_text(report)}",
        f"Newcomers: {newcomers_text(report)}",
    ]
    if report.label_timers:
        out += ["Time in label:"] + [f"  {label_text(timer)}" for timer in report.label_timers]
    return [line for text_ in out for line in _wrap(text_)]


def as_json(report: Report) -> str:
    data = asdict(report)
    data["coverage"] = report.coverage_line()
    return json.dumps(data, indent=2, default=str)


# The CSV's columns: each a Headline attribute, hours rounded to a tenth, shares as whole percents.
CSV_COLUMNS = (
    ("scope", "scope", None),
    ("outsider_items", "outsider_items", None),
    ("timelines_read", "timelines_read", None),
    ("replied", "replied", None),
    ("reply_median_hours", "reply_median_hours", 1),
    ("reply_p90_hours", "reply_p90_hours", 1),
    ("answered", "answered", None),
    ("median_hours", "median_hours", 1),
    ("p90_hours", "p90_hours", 1),
    ("answered_within_sla_pct", "answered_within_sla", 100),
    ("waiting", "waiting", None),
    ("waiting_beyond_sla", "waiting_beyond_sla", None),
    ("issues", "issues", None),
    ("issues_closed", "issues_closed", None),
    ("close_median_hours", "close_median_hours", 1),
    ("external_prs", "external_prs", None),
    ("external_prs_merged", "external_prs_merged", None),
    ("external_prs_closed_unmerged", "external_prs_closed_unmerged", None),
    ("external_pr_merge_rate_pct", "external_pr_merge_rate", 100),
    ("merge_median_hours", "merge_median_hours", 1),
)
PREVIOUS_COLUMNS = ("reply_median_hours", "median_hours", "waiting", "waiting_beyond_sla", "external_prs_merged")


def _csv_value(value, rounding):
    if rounding is None or value is None:
        return "" if value is None else value
    return _round(value, 0, 100) if rounding == 100 else _round(value, 1)


def as_csv(report: Report) -> str:
    """The headline table, one scope a row, with the previous period's headline figures beside."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [name for name, _, _ in CSV_COLUMNS] + [f"previous_{name}" for name in PREVIOUS_COLUMNS] + ["coverage", "flags"]
    )
    for h in report.headlines:
        row = [_csv_value(getattr(h, attribute), rounding) for _, attribute, rounding in CSV_COLUMNS]
        row += [_csv_value(h.previous.get(name), 1 if "hours" in name else None) for name in PREVIOUS_COLUMNS]
        writer.writerow([*row, coverage_text(h), "; ".join(h.flags)])
    return buffer.getvalue()


def _round(value: float | None, digits: int, scale: float = 1.0):
    if value is None:
        return ""
    rounded = round(value * scale, digits)
    return int(rounded) if digits == 0 else rounded
