"""Timeline coverage: `timeline_reads`, one row per item whose timeline was read whole, and views that use it.

Items whose pages this port already read to a page that was not full (its own `page_size`) count as read; pages
polled by the original app (no `page_size`) do not, so `nrt_events` reads those timelines once more (cheaply:
their ETags still answer 304).

Revision ID: 0004_timeline_coverage
Revises: 0003_event_keys_and_pr_score
"""

from alembic import op

from chalicelib.insight import create_views
from chalicelib.models import TimelineRead

revision = "0004_timeline_coverage"
down_revision = "0003_event_keys_and_pr_score"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    TimelineRead.__table__.create(bind, checkfirst=True)
    op.execute(
        "INSERT INTO timeline_reads (item_id, outcome, item_updated_at, read_at) "
        "SELECT id, 'read', MAX(issue_updated_at), CURRENT_TIMESTAMP FROM event_polls "
        "WHERE id NOT IN (SELECT item_id FROM timeline_reads) "
        "GROUP BY id HAVING MIN(COALESCE(page_size, 100)) < 100"
    )
    create_views(bind)


def downgrade() -> None:
    op.drop_table("timeline_reads")
