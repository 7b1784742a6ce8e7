"""first_response finds each item's first response with the item (through the events' issue_id index) instead of
aggregating every response event of the database first, so a filter on the view (a report's period, its repos)
reaches the items before any event is read. Same rows as before.

Revision ID: 0005_first_response_per_item
Revises: 0004_timeline_coverage
"""

from alembic import op

from chalicelib.insight import create_views

revision = "0005_first_response_per_item"
down_revision = "0004_timeline_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    """Nothing to undo: the earlier definition gives the same rows."""
