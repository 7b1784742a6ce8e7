"""Pull request scores keep their fraction; id-less events get keys that identify them.

`pull_requests.score` was an integer in the original schema, but GitHub's search score is a float (issues'
was already one). Events GitHub gives no id were keyed by a hash that put every `committed` event of an item
under one key (only the last survived) and a `cross-referenced` one under a key that changed with its source
issue's state (duplicates). Those rows are dropped with their items' page ETags, so the next read of each of
those timelines stores them again, whole, under the new keys.

Revision ID: 0003_event_keys_and_pr_score
Revises: 0002_insight_views
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_event_keys_and_pr_score"
down_revision = "0002_insight_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("pull_requests", "score", type_=sa.Float(), postgresql_using="score::double precision")
    op.execute("DELETE FROM event_polls WHERE id IN (SELECT issue_id FROM events WHERE id < 0)")
    op.execute("DELETE FROM events WHERE id < 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("pull_requests", "score", type_=sa.Integer(), postgresql_using="round(score)::integer")
