"""What one report reads from the database, in one read-only transaction: the insight views' rows for the period
(and the one before it) and for whatever is open, the label events of those items, and what newcomers did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Connection, Engine

from ..insight import Dialect
from ..state import MEMBERS_SYNCED

# The items the report reads: those created in the period or the one before it (its figures), those open (its
# lists), and those closed since the previous period began (what waited at each week's end, whenever opened).
# The database filters, so a three-year org does not cost a 90-day report every row.
ITEMS_READ = "(created_at BETWEEN :previous AND :end OR state = 'open' OR closed_at >= :previous)"
LAST_SUCCESSES = "SELECT job, MAX(finished_at) AS at FROM job_runs WHERE status = 'ok' GROUP BY job"


@dataclass
class Source:
    items: list[dict]
    prs: list[dict]
    follow_up: list[dict]
    trending: list[dict]
    label_events: list[dict]
    first_items: list[dict]
    later_activity: list[dict]
    known_repos: set[str]
    members: datetime | None
    runs: list[dict]


def _select(connection: Connection, sql: str, repos: list[str] | None, repo_column: str = "repo", **params):
    """Rows of `sql` (which may end in a WHERE clause with {repos} where the repo filter goes), in the repos asked
    for (all, without)."""
    sql = sql.replace("{repos}", f"{repo_column} IN :repos" if repos else "1 = 1")
    statement = text(sql).bindparams(
        *[bindparam(name, type_=DateTime) for name in ("previous", "start", "end") if name in params],
        *([bindparam("repos", list(repos), expanding=True)] if repos else []),
    )
    return [dict(row._mapping) for row in connection.execute(statement, params)]


def _read_only(connection: Connection) -> None:
    """A report only reads: on PostgreSQL its transaction says so (a write would fail), and JIT is off, because
    PostgreSQL (11+) compiles a query whose estimated cost is high: the views' per-item subqueries are, and
    compiling took 3 of the 4 s of a 10x org's report for 0.4 s of work."""
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return
    connection.execute(text("SET TRANSACTION READ ONLY"))
    if (dialect.server_version_info or (0,)) >= (11,):
        connection.execute(text("SET LOCAL jit = off"))


def _label_events(connection: Connection, repos, d: Dialect, **period) -> list[dict]:
    """`labeled`/`unlabeled` events of the period's items and the open ones, with the label's name."""
    return _select(
        connection,
        f"SELECT e.id, e.issue_id, e.event, {d.json_text('e.label', 'name')} AS label, e.created_at "
        "FROM events e JOIN all_items i ON i.id = e.issue_id WHERE e.event IN ('labeled', 'unlabeled') "
        "AND (i.created_at BETWEEN :start AND :end OR i.state = 'open') AND {repos}",
        repos,
        "i.repo",
        **period,
    )


# Each author's first item in the repos reported, when it was opened in the period.
FIRST_ITEMS = """
    WITH firsts AS (
      SELECT username, id, created_at FROM (
        SELECT username, id, created_at, ROW_NUMBER() OVER (PARTITION BY username ORDER BY created_at, id) AS n
        FROM all_items WHERE {repos}) ranked
      WHERE n = 1 AND created_at BETWEEN :start AND :end)"""


def _newcomer_activity(connection: Connection, repos, **period) -> tuple[list[dict], list[dict]]:
    """Each author's first item if it was opened in the period, and what each of them did on another item since:
    opened it, or commented on it."""
    firsts = _select(connection, FIRST_ITEMS + " SELECT * FROM firsts", repos, **period)
    later = _select(
        connection,
        FIRST_ITEMS + " SELECT a.username, a.id AS item_id, a.created_at FROM all_items a "
        "JOIN firsts f ON f.username = a.username WHERE a.id <> f.id "
        "UNION ALL SELECT e.username, e.issue_id AS item_id, e.created_at FROM events e "
        "JOIN firsts f ON f.username = e.username WHERE e.event = 'commented' AND e.issue_id <> f.id",
        repos,
        **period,
    )
    return firsts, later


def read(engine: Engine, repos: list[str] | None, previous: datetime, start: datetime, end: datetime) -> Source:
    with engine.connect() as connection:
        _read_only(connection)
        d = Dialect(connection.dialect.name)
        window = {"previous": previous, "end": end}
        firsts, later = _newcomer_activity(connection, repos, start=start, end=end)
        return Source(
            items=_select(
                connection, f"SELECT * FROM first_response WHERE {ITEMS_READ} AND {{repos}}", repos, **window
            ),
            prs=_select(connection, f"SELECT * FROM outsider_prs WHERE {ITEMS_READ} AND {{repos}}", repos, **window),
            follow_up=_select(connection, "SELECT * FROM needs_follow_up WHERE {repos}", repos),
            trending=_select(connection, "SELECT * FROM trending WHERE {repos} ORDER BY score DESC, id", repos),
            label_events=_label_events(connection, repos, d, start=start, end=end),
            first_items=firsts,
            later_activity=later,
            known_repos={r["repo"] for r in _select(connection, "SELECT DISTINCT repo FROM all_items", None)},
            members=MEMBERS_SYNCED.value(connection),
            runs=_select(connection, LAST_SUCCESSES, None),
        )
