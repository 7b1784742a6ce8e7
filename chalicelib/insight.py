"""The questions the data is collected for, as database views, on PostgreSQL and SQLite.

Who counts as a maintainer is decided once, in `maintainer_at`: someone whose `author_association` says MEMBER,
OWNER or COLLABORATOR, or who is in `members` and had not left (`inactive_dt`) at that moment. Bots
(`[bot]` logins, `Bot` accounts) and the ghost of deleted accounts are neither maintainers nor outsiders.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

RESPONSE_EVENTS = ("commented", "reviewed", "labeled", "assigned", "closed")
# A reply is words: a comment or a review. A label or an assignment is a response, not a reply.
REPLY_EVENTS = ("commented", "reviewed")
MAINTAINER_ASSOCIATIONS = ("MEMBER", "OWNER", "COLLABORATOR")
VIEWS = ("all_items", "first_response", "needs_follow_up", "trending", "external_prs", "outsider_prs")


@dataclass(frozen=True)
class Dialect:
    """The few expressions PostgreSQL and SQLite spell differently."""

    name: str

    @property
    def postgresql(self) -> bool:
        return self.name == "postgresql"

    def now(self, minus_days: int = 0) -> str:
        if self.postgresql:
            return "(now() AT TIME ZONE 'UTC')" + (f" - interval '{minus_days} days'" if minus_days else "")
        return f"datetime('now', '-{minus_days} days')" if minus_days else "datetime('now')"

    def hours(self, later: str, earlier: str) -> str:
        if self.postgresql:
            return f"CAST(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 3600.0 AS DOUBLE PRECISION)"
        return f"((julianday({later}) - julianday({earlier})) * 24.0)"

    def json_text(self, column: str, key: str) -> str:
        return f"({column} ->> '{key}')" if self.postgresql else f"json_extract({column}, '$.{key}')"

    def json_int(self, column: str, key: str) -> str:
        return f"CAST({self.json_text(column, key)} AS INTEGER)"

    def label_names(self, column: str) -> str:
        if self.postgresql:
            return f"(SELECT string_agg(l ->> 'name', ', ') FROM unnest({column}) AS l)"
        return f"(SELECT group_concat(json_extract(value, '$.name'), ', ') FROM json_each({column}))"

    def first_join(self, first_row: str, columns: dict[str, str], alias: str) -> str:
        """Joins each item to the first row of a per-item query (`first_row`: its FROM ... LIMIT 1), naming
        `columns` as `<alias>.<name>`: on PostgreSQL one index probe per item (LATERAL). SQLite has no LATERAL:
        there `first_of` asks once per column."""
        if not self.postgresql:
            return ""
        selected = ", ".join(f"{expression} AS {name}" for name, expression in columns.items())
        return f"LEFT JOIN LATERAL (SELECT {selected} {first_row}) {alias} ON TRUE"

    def first_of(self, first_row: str, columns: dict[str, str], alias: str) -> str:
        if self.postgresql:
            return ", ".join(f"{alias}.{name} AS {name}" for name in columns)
        return ", ".join(f"(SELECT {expression} {first_row}) AS {name}" for name, expression in columns.items())

    def month(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM')" if self.postgresql else f"strftime('%Y-%m', {column})"


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def is_person(login: str, user: str, d: Dialect) -> str:
    """A real account: not deleted (the ghost), not a bot."""
    return (
        f"({login} IS NOT NULL AND {login} <> 'ghost' AND {login} NOT LIKE '%[bot]' "
        f"AND COALESCE({d.json_text(user, 'type')}, 'User') <> 'Bot')"
    )


def maintainer_at(login: str, association: str, moment: str) -> str:
    """The one definition of a maintainer at a moment."""
    return (
        f"(COALESCE({association}, '') IN ({_quoted(MAINTAINER_ASSOCIATIONS)}) OR EXISTS ("
        f"SELECT 1 FROM members m WHERE m.login = {login} "
        f"AND (m.inactive_dt IS NULL OR m.inactive_dt > {moment})))"
    )


def outsider_at(login: str, association: str, user: str, moment: str, d: Dialect) -> str:
    return f"({is_person(login, user, d)} AND NOT {maintainer_at(login, association, moment)})"


def view_definitions(d: Dialect) -> dict[str, str]:
    """Each view's SQL for the database's dialect."""
    return {
        "all_items": _all_items(),
        "first_response": _first_response(d),
        "needs_follow_up": _needs_follow_up(d),
        "trending": _trending(d),
        "outsider_prs": _outsider_prs(d),
        "external_prs": _external_prs(d),
    }


def _all_items() -> str:
    return """
            SELECT id, 'issue' AS kind, org, repo, number, title, html_url, username, "user", author_association,
                   state, created_at, closed_at, CAST(NULL AS BOOLEAN) AS merged, labels, reactions FROM issues
            UNION ALL
            SELECT id, 'pr' AS kind, org, repo, number, title, html_url, username, "user", author_association,
                   state, created_at, closed_at, merged, labels, reactions FROM pull_requests"""


def _first_by_maintainer(events: tuple[str, ...], d: Dialect) -> str:
    """The per-item query for the first of `events` by a maintainer (at that moment) who is not the author."""
    event_user = 'e."user"'
    return (
        f"FROM events e WHERE e.issue_id = i.id AND e.event IN ({_quoted(events)}) AND e.created_at >= i.created_at "
        f"AND {is_person('e.username', event_user, d)} AND e.username <> i.username "
        f"AND {maintainer_at('e.username', 'e.author_association', 'e.created_at')} "
        "ORDER BY e.created_at, e.id LIMIT 1"
    )


def _first_response(d: Dialect) -> str:
    """Each outsider item with its first response (any maintainer action) and its first reply (a maintainer's
    comment or review), by a maintainer who is not its author (LATERAL on PostgreSQL, a subquery per column on
    SQLite), so a filter on the view reaches the items first."""
    item_user = 'i."user"'
    first_response, first_reply = _first_by_maintainer(RESPONSE_EVENTS, d), _first_by_maintainer(REPLY_EVENTS, d)
    responded = {"responded_at": "e.created_at", "responder": "e.username"}
    replied = {"replied_at": "e.created_at", "replier": "e.username"}
    return f"""
            SELECT r.*, {d.hours("r.responded_at", "r.created_at")} AS hours_to_first_response,
                   {d.hours("r.replied_at", "r.created_at")} AS hours_to_first_reply,
                   CASE WHEN r.responded_at IS NULL
                        THEN {d.hours(f"COALESCE(r.closed_at, {d.now()})", "r.created_at")} END AS hours_waiting,
                   {d.hours(f"COALESCE(r.closed_at, {d.now()})", "r.created_at")} AS hours_observed,
                   CASE WHEN EXISTS (SELECT 1 FROM timeline_reads t WHERE t.item_id = r.id AND t.outcome = 'read')
                        THEN 1 ELSE 0 END AS timeline_read
            FROM (
              SELECT i.id, i.kind, i.org, i.repo, i.number, i.title, i.html_url, i.username AS author, i.state,
                     i.merged, i.created_at, i.closed_at, {d.label_names("i.labels")} AS labels,
                     {d.first_of(first_response, responded, "f")}, {d.first_of(first_reply, replied, "w")}
              FROM all_items i {d.first_join(first_response, responded, "f")} {d.first_join(first_reply, replied, "w")}
              WHERE {outsider_at("i.username", "i.author_association", item_user, "i.created_at", d)}) r"""


def _outside_comment(d: Dialect) -> str:
    comment_user = 'c."user"'
    return (
        f"c.event = 'commented' AND "
        f"{outsider_at('c.username', 'c.author_association', comment_user, 'c.created_at', d)}"
    )


def _needs_follow_up(d: Dialect) -> str:
    outside_comment = _outside_comment(d)
    return f"""
            SELECT i.id, i.kind, i.org, i.repo, i.number, i.title, i.html_url, {d.label_names("i.labels")} AS labels,
                   i.username AS author, c.username AS last_commenter, c.created_at AS last_comment_at,
                   {d.hours(d.now(), "c.created_at")} AS hours_waiting
            FROM all_items i JOIN events c ON c.issue_id = i.id
            WHERE i.state = 'open' AND {outside_comment}
              AND c.id = (SELECT l.id FROM events l WHERE l.issue_id = i.id AND l.event = 'commented'
                          ORDER BY l.created_at DESC, l.id DESC LIMIT 1)"""


def _trending(d: Dialect) -> str:
    outside_comment = _outside_comment(d)
    return f"""
            SELECT repo, id, number, title, html_url, author, labels, outside_comments, reactions, score, rank FROM (
              SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.repo ORDER BY s.score DESC, s.id) AS rank FROM (
                SELECT a.*, a.outside_comments + a.reactions AS score FROM (
                  SELECT i.repo, i.id, i.number, i.title, i.html_url, i.username AS author,
                         {d.label_names("i.labels")} AS labels,
                         (SELECT COUNT(*) FROM events c WHERE c.issue_id = i.id AND c.created_at >= {d.now(7)}
                            AND {outside_comment}) AS outside_comments,
                         CASE WHEN i.created_at >= {d.now(7)}
                              THEN COALESCE({d.json_int("i.reactions", "total_count")}, 0) ELSE 0 END
                         + (SELECT COALESCE(SUM({d.json_int("c.reactions", "total_count")}), 0) FROM events c
                            WHERE c.issue_id = i.id AND c.event = 'commented' AND c.created_at >= {d.now(7)})
                           AS reactions
                  FROM all_items i WHERE i.kind = 'issue' AND i.state = 'open') a) s
              WHERE s.score > 0) ranked
            WHERE rank <= 10"""


def _outsider_prs(d: Dialect) -> str:
    pr_user = 'p."user"'
    return f"""
            SELECT p.id, 'pr' AS kind, p.repo, p.number, p.title, p.html_url, p.username AS author, p.state,
                   p.merged, p.created_at, p.closed_at, {d.label_names("p.labels")} AS labels,
                   {d.hours(d.now(), "p.created_at")} AS hours_open,
                   {d.hours(f"COALESCE(p.closed_at, {d.now()})", "p.created_at")} AS hours_observed
            FROM pull_requests p
            WHERE {outsider_at("p.username", "p.author_association", pr_user, "p.created_at", d)}"""


def _external_prs(d: Dialect) -> str:
    pr_user = 'p."user"'
    return f"""
            SELECT repo, month, opened, merged, closed_unmerged, still_open,
                   CASE WHEN merged + closed_unmerged > 0
                        THEN CAST(merged AS DOUBLE PRECISION) / (merged + closed_unmerged) END AS merge_rate,
                   avg_hours_to_merge FROM (
              SELECT p.repo, {d.month("p.created_at")} AS month, COUNT(*) AS opened,
                     SUM(CASE WHEN p.merged THEN 1 ELSE 0 END) AS merged,
                     SUM(CASE WHEN p.state = 'closed' AND NOT COALESCE(p.merged, FALSE) THEN 1 ELSE 0 END)
                       AS closed_unmerged,
                     SUM(CASE WHEN p.state = 'open' THEN 1 ELSE 0 END) AS still_open,
                     AVG(CASE WHEN p.merged THEN {d.hours("p.closed_at", "p.created_at")} END) AS avg_hours_to_merge
              FROM pull_requests p
              WHERE {outsider_at("p.username", "p.author_association", pr_user, "p.created_at", d)}
              GROUP BY p.repo, {d.month("p.created_at")}) counted"""


def create_views(connection: Connection) -> None:
    """(Re)create every view; they hold no data, so replacing them is always safe."""
    definitions = view_definitions(Dialect(connection.dialect.name))
    for name in reversed(VIEWS):
        connection.execute(text(f"DROP VIEW IF EXISTS {name}"))
    for name in VIEWS:
        connection.execute(text(f"CREATE VIEW {name} AS {definitions[name]}"))
