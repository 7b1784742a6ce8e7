"""ix_events_repo_event: a repo's stored comments are counted for every walk of its listings, and without this
index each count read the whole events table (at 2,000 repos, a backfill's fan-out spent most of its database
time there).

Revision ID: 0011_events_repo_index
Revises: 0010_listing_page_entries
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_events_repo_index"
down_revision = "0010_listing_page_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Created where it is missing (a database made by create_all already has it)."""
    if "ix_events_repo_event" not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("events")}:
        op.create_index("ix_events_repo_event", "events", ["repo", "event"])


def downgrade() -> None:
    op.drop_index("ix_events_repo_event", "events")
