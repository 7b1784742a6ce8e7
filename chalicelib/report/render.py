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
# The lists by the name `report.py --list` takes, each with the attribute holding it and its title.
LISTS = {
    "waiting": ("waiting_on_us", "Waiting on us"),
    "beyond-sla": ("beyond_sla", "Beyond SLA"),
    "trending": ("trending", "Trending this week"),
    "external-prs": ("open_external_prs", "External PRs open longest"),
}


# What each list and count holds, as the page and the table say it; the same definition wherever it is used.
DEFINITIONS = {
    "Waiting on us": "open outsider items, whenever opened, with no maintainer response yet or whose last comment "
    "is an outsider's",
    "Beyond SLA": "open outsider items, whenever opened, with no maintainer response yet, waiting longer than the "
    "SLA (the >SLA column counts them per repo)",
    "Trending this week": "open issues with the most outside comments and reactions in the last 7 days",
    "External PRs open longest": "open pull requests by outsiders, longest open first",
}


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


def as_table(report: Report) -> str:
    """For a terminal: every line fits 100 columns but a URL, which is never cut (the title is shortened
    instead); what outsiders wrote is shown with its control characters escaped."""
    if report.empty_because:
        return f"Nothing to report: {report.empty_because}."
    out = [line for text_ in header_lines(report) for part in text_.split("\n") for line in _wrap(part)] + [""]
    rows = [list(COLUMNS)] + [[printable(cell) for cell in headline_cells(h)] for h in report.headlines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    table = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    table.insert(1, "  ".join("-" * w for w in widths))
    out += table
    flagged = [f"{printable(h.scope)}: {', '.join(h.flags)}" for h in report.headlines if h.flags]
    if flagged:
        out += ["", "Read with care (small sample or low coverage):"] + [f"  {line}" for line in flagged]
    for name, (attribute, title) in LISTS.items():
        lines = getattr(report, attribute)
        if lines:
            out += ["", list_heading(title, lines) + ":", f"  ({DEFINITIONS[title]})"]
            out += [text for line in lines[:SHOWN] for text in _line_texts(line)]
            if len(lines) > SHOWN:
                out.append(f"  ... and {len(lines) - SHOWN} more: python report.py --list {name}")
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
