"""Incremental state (`sync_state`): one named `Cursor` per piece, each declared here, written only after the work
it covers. A cursor family (`DAILY.of(repo)`) keeps one value per key under the family's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .github.pages import PageValidator
from .models import BackfillCheckpoint, ListingPage, SyncState
from .times import parse_timestamp


@dataclass(frozen=True)
class Cursor:
    """A moment up to which some work is done, kept under `name`."""

    name: str

    def of(self, key: str) -> Cursor:
        """This family's cursor for one key (a repo, a query, a day)."""
        return Cursor(f"{self.name}:{key}")

    def value(self, bind: Session | Connection) -> datetime | None:
        """The cursor's moment, read in a session or on a plain connection (the report's)."""
        return bind.execute(select(SyncState.value).where(SyncState.name == self.name)).scalar()

    def advance(self, session: Session, to: datetime) -> None:
        """Set and commit (the work it covers is committed before)."""
        state = session.get(SyncState, self.name) or SyncState(name=self.name)
        state.value = parse_timestamp(to)
        session.add(state)
        session.commit()

    def clear(self, session: Session) -> None:
        session.execute(delete(SyncState).where(SyncState.name == self.name))
        session.commit()


# every_30_min: the start of its last complete cycle; an unfinished cycle's start and its search windows' progress.
ITEMS = Cursor("every_30_min")
ITEMS_CYCLE = Cursor("every_30_min:cycle")
ITEMS_WINDOWS = Cursor("every_30_min:window")
# nrt_events: the start of its last run that read every change.
CHANGES = Cursor("nrt_events")
# When the org's members were last synced (the report says whether maintainers can be told from outsiders).
MEMBERS_SYNCED = Cursor("members")
# daily: per repo, when its completeness check last finished whole.
DAILY = Cursor("daily")
# Per repo: when a walk of its listings that found something new began (nrt_events' walks start there), and how
# far back they were walked for items never read.
LISTINGS = Cursor("listings")
LISTINGS_COVERED = Cursor("listings-covered")
# Per repo: when nrt_events last walked its listings whole, whether or not they held anything new.
LISTINGS_WALKED = Cursor("listings-walked")
# Per day: that the digest was sent (claimed before sending, so two runs never both send).
DIGEST_SENT = Cursor("digest")
# The validators (and entries) of the org's repository listing, which every run reads first; one walk knows it all.
ORG_REPO_PAGES = "org-repos"


@dataclass(frozen=True)
class PageValidators:
    """The validators of one scope's listing pages (a repo's two listings, the org's repo listing), kept like the
    cursors: written only after what the pages hold is stored, so a 304 never vouches for rows not committed."""

    scope: str

    def known(self, bind: Session, fingerprint: str, since: datetime | None = None) -> dict[str, PageValidator]:
        """The pages' validators recorded by a walk that knew `fingerprint` and started no later than `since`."""
        statement = select(ListingPage).where(ListingPage.scope == self.scope, ListingPage.fingerprint == fingerprint)
        if since is not None:
            statement = statement.where(or_(ListingPage.since.is_(None), ListingPage.since <= parse_timestamp(since)))
        return {
            row.url: PageValidator(
                row.etag, row.next_url, row.size, _aware(row.oldest), _aware(row.newest), row.entries
            )
            for row in bind.scalars(statement)
        }

    def keep(
        self, session: Session, fingerprint: str, fresh: dict[str, PageValidator], since: datetime | None = None
    ) -> None:
        """Record the pages just read (their entries are committed); drop those recorded under another
        fingerprint, which no walk can use again."""
        if not fresh:
            return
        session.execute(
            delete(ListingPage).where(ListingPage.scope == self.scope, ListingPage.fingerprint != fingerprint)
        )
        for url, page in fresh.items():
            session.merge(
                ListingPage(
                    url=url,
                    scope=self.scope,
                    fingerprint=fingerprint,
                    since=parse_timestamp(since),
                    etag=page.etag,
                    next_url=page.next_url,
                    size=page.size,
                    oldest=parse_timestamp(page.oldest),
                    newest=parse_timestamp(page.newest),
                    entries=page.entries,
                    read_at=parse_timestamp(datetime.now(UTC)),
                )
            )
        session.commit()


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def progress_mark(session: Session) -> tuple:
    """Everything a job's progress lives in (cursors, backfill checkpoints), to tell afterwards whether a run
    moved any of it."""
    watermarks = tuple(session.execute(select(SyncState.name, SyncState.value).order_by(SyncState.name)).all())
    checkpoints = session.execute(select(func.count(), func.max(BackfillCheckpoint.completed_at))).one()
    return watermarks, tuple(checkpoints)
