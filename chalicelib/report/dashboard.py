"""The report as one self-contained page: the headline figures as numbers with their change from the previous
period, then the charts, the lists to act on, the per-repo tables, and a section per repo. No script: it opens
offline, prints, and reads at 800 px (tables scroll inside their box)."""

from __future__ import annotations

import html

from . import charts
from .model import Headline, ItemLine, Report
from .render import (
    LEGEND,
    LISTS,
    SHOWN,
    SHOWN_LISTS,
    TABLES,
    change_text,
    count_text,
    header_lines,
    hours_text,
    label_text,
    list_definition,
    list_heading,
    list_title,
    newcomers_text,
    responders_text,
)

EMPTY_LISTS = {
    "no-answer": "Nothing waits for a first answer.",
    "outsider-last": "No thread waits on us after an outsider's comment.",
    "beyond-sla": "Nothing waits beyond the SLA.",
    "newcomers-waiting": "No first-time contributor waits on us.",
    "trending": "No open issue had outside activity this week.",
    "external-prs": "No external PR is open.",
}
REPO_ITEMS = 10


def _e(value) -> str:
    return html.escape(str(value))


def _anchor(scope: str) -> str:
    return "repo-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in scope)


def _cards(report: Report, headline: Headline) -> str:
    """The headline figures as numbers, each with its change from the previous period and, where a figure should
    be read with care, the reason on the figure itself."""
    before, word = headline.previous, report.answer_word
    cards = [
        ("Median first reply", hours_text(headline.reply_median_hours), "reply_median_hours", "1st reply", True),
        ("Median first response", hours_text(headline.median_hours), "median_hours", "1st resp", True),
        (f"Waiting for a first {word}", count_text(headline.waiting), "waiting", "waiting", False),
        ("Beyond SLA", count_text(headline.waiting_beyond_sla), "waiting_beyond_sla", ">SLA", False),
        ("External PRs merged", str(headline.external_prs_merged), "external_prs_merged", None, False),
    ]
    no_change = "previous period: no data" if not before else "previous period: not comparable"
    cells = []
    for title, value, key, column, hours in cards:
        if key in ("reply_median_hours", "median_hours") and headline.answered is None:
            value = "n/a"
        change = change_text(getattr(headline, key), before.get(key), hours)
        care = headline.cautions.get(column) if column else None
        cells.append(
            f"<div class='card{' care' if care else ''}'><div class='figure'>{_e(value)}</div>"
            f"<div class='what'>{_e(title)}</div>"
            + f"<div class='change'>{_e(f'{change} vs previous period' if change else no_change)}</div>"
            + (f"<div class='caution'>read with care: {_e(care)}</div>" if care else "")
            + "</div>"
        )
    return f"<div class='cards'>{''.join(cells)}</div>"


def _headline_tables(report: Report) -> str:
    """The per-repo tables; a cell to read with care is marked, its reason in its title and under the table."""
    out = []
    for title, columns, cells in TABLES:
        head = "".join(f"<th>{_e(c)}</th>" for c in columns)
        rows = []
        for h in report.headlines:
            tds = []
            for column, cell in zip(columns, cells(h), strict=True):
                care = h.cautions.get(column)
                if column == "repo" and h.scope != "all repos":
                    cell_html = f"<a href='#{_anchor(h.scope)}'>{_e(cell)}</a>"
                else:
                    cell_html = _e(cell)
                if care:
                    tds.append(f"<td class='care' title='read with care: {_e(care)}'>{cell_html}*</td>")
                else:
                    tds.append(f"<td>{cell_html}</td>")
            rows.append(f"<tr>{''.join(tds)}</tr>")
        out.append(
            f"<h3>{_e(title)}</h3><div class='scroll'><table class='headline'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
    flagged = "".join(f"<li>{_e(h.scope)}: {_e(', '.join(h.flags))}</li>" for h in report.headlines if h.flags)
    care = f"<p class='flags'>* read with care:</p><ul class='flags'>{flagged}</ul>" if flagged else ""
    return (
        f"<section id='per-repo'><h2>Per repo</h2>{''.join(out)}{care}<p class='definition'>{_e(LEGEND)}.</p></section>"
    )


def _rows(lines: list[ItemLine]) -> str:
    return "".join(
        "<tr>"
        f"<td class='repo'>{_e(line.repo)}</td>"
        f"<td><a href='{_e(line.url)}'>#{line.number} {_e(line.title)}</a></td>"
        f"<td>{_e(line.author or '')}</td>"
        f"<td class='num'>{hours_text(line.hours) if line.hours else ''}</td>"
        f"<td>{_e(line.labels or '')}</td>"
        f"<td>{_e(line.why)}</td></tr>"
        for line in lines
    )


def _item_table(lines: list[ItemLine]) -> str:
    return (
        "<div class='scroll'><table class='list'>"
        "<thead><tr><th>repo</th><th>item</th><th>author</th><th>waiting</th><th>labels</th><th>why</th></tr>"
        f"</thead><tbody>{_rows(lines)}</tbody></table></div>"
    )


def _list_section(report: Report, name: str) -> str:
    """The list `name` (a key of LISTS): its first SHOWN items under its true count (the whole list:
    `report.py --list`)."""
    lines: list[ItemLine] = getattr(report, LISTS[name][0])
    title = list_title(report, name)
    if not lines:
        return f"<section id='list-{name}'><h2>{_e(title)}</h2><p class='none'>{_e(EMPTY_LISTS[name])}</p></section>"
    more = (
        f"<p class='none'>The whole list: <code>python report.py --list {name}</code></p>" if len(lines) > SHOWN else ""
    )
    return (
        f"<section id='list-{name}'><h2>{_e(list_heading(title, lines))}</h2>"
        f"<p class='definition'>{_e(list_definition(report, name))}</p>"
        f"{_item_table(lines[:SHOWN])}{more}</section>"
    )


def _people_section(report: Report) -> str:
    """Who answers, newcomers, and how long items sit in state labels."""
    if report.members_synced_at is None:
        return ""
    timers = "".join(f"<li>{_e(label_text(timer))}</li>" for timer in report.label_timers)
    sitting = "".join(
        f"<h3>Sitting longest in {_e(label)} ({len(lines)})</h3>{_item_table(lines[:SHOWN])}"
        for label, lines in report.sitting_in_label.items()
        if lines
    )
    return (
        "<section id='people'><h2>Who answers, who comes back, what sits</h2>"
        f"<p><b>First replies by maintainer:</b> {_e(responders_text(report))}.</p>"
        f"<p><b>Newcomers:</b> {_e(newcomers_text(report))}.</p>"
        + (f"<p><b>Time in label</b> (LABEL_TIMERS):</p><ul>{timers}</ul>{sitting}" if report.label_timers else "")
        + "</section>"
    )


def _repo_sections(report: Report) -> str:
    """One section per repo: its figures with their change, its weeks, and what waits on it."""
    out = []
    for headline in report.headlines[:-1]:
        weeks = report.weekly.get(headline.scope, [])
        week_rows = "".join(
            f"<tr><td>{_e(w.week)}</td><td class='num'>{_e(hours_text(w.median_first_reply_hours))}</td>"
            f"<td class='num'>{_e(hours_text(w.median_first_response_hours))}</td>"
            f"<td class='num'>{w.waiting_at_end}</td><td class='num'>{w.external_prs_merged}</td></tr>"
            for w in weeks
        )
        weekly = (
            "<div class='scroll'><table class='weeks'><thead><tr><th>week (Monday)</th><th>median 1st reply</th>"
            "<th>median 1st response</th><th>waiting at its end</th><th>ext PRs merged</th></tr></thead>"
            f"<tbody>{week_rows}</tbody></table></div>"
            if weeks
            else ""
        )
        waiting = [line for line in report.waiting_on_us if line.repo == headline.scope]
        items = (
            f"<h3>Waiting on us ({len(waiting)}, oldest {min(len(waiting), REPO_ITEMS)})</h3>"
            + _item_table(waiting[:REPO_ITEMS])
            if waiting
            else "<p class='none'>Nothing waits on us here.</p>"
        )
        out.append(
            f"<section class='repo' id='{_anchor(headline.scope)}'><h2>{_e(headline.scope)}</h2>"
            f"{_cards(report, headline)}{weekly}{items}<p><a href='#top'>back to the top</a></p></section>"
        )
    return "".join(out)


def _charts(report: Report) -> str:
    drawn = []
    if report.weekly.get("all repos"):
        drawn += [charts.weekly_median_chart(report), charts.waiting_trend_chart(report)]
    if report.backlog_by_age:
        drawn.append(charts.backlog_chart(report))
    if report.pr_outcomes_by_month:
        drawn.append(charts.pr_outcomes_chart(report))
    if report.responders:
        drawn.append(charts.responders_chart(report))
    if any(timer.stays.observed for timer in report.label_timers):
        drawn.append(charts.label_time_chart(report))
    return "".join(drawn)


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}th{background:#f4f4f4;text-align:left}
td.num,table.headline td:not(:first-child){text-align:right;white-space:nowrap}
td.repo,table.headline td:first-child{white-space:nowrap}
td.care{background:#fff6e0}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}
.card{flex:1 1 10em;border:1px solid #ccc;border-radius:6px;padding:.5em .8em}
.card .figure{font-size:1.6em;font-weight:bold}.card .what{color:#444}.card .change{color:#666;font-size:.85em}
.card.care{border-color:#e0a000}.card .caution{color:#a05a00;font-size:.85em}
.chart{margin:1.5em 0}.chart figcaption{font-weight:bold;margin-bottom:.3em}.chart svg{width:100%;height:auto}
.note{background:#fff6e0;border-left:4px solid #e0a000;padding:.4em .8em}.none{color:#666}
.flags{color:#a05a00;font-size:.9em}.definition{color:#444;font-size:.9em}
section.repo{border-top:2px solid #ddd;margin-top:2em}
"""


def as_html(report: Report) -> str:
    if report.empty_because:
        body = (
            f"<h1 id='top'>How outside contributors are treated</h1><p class='note'>Nothing to report: "
            f"{_e(report.empty_because)}.</p>"
        )
        return _page(body)
    header, *rest = header_lines(report)
    facts = "".join(f"<li>{_e(line)}</li>" for line in rest if line not in report.notes)
    notes = "".join(f"<p class='note'>{_e(line)}</p>" for line in report.notes)
    body = (
        f"<h1 id='top'>How outside contributors are treated</h1><p>{_e(header)}</p>"
        f"{_cards(report, report.overall)}<ul>{facts}</ul>{notes}"
        + _charts(report)
        + "".join(_list_section(report, name) for name in SHOWN_LISTS)
        + _people_section(report)
        + _headline_tables(report)
        + _repo_sections(report)
    )
    return _page(body)


def _page(body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>contributor-metrics report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
