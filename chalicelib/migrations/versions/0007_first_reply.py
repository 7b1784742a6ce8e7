"""first_response gains each item's first reply (a maintainer's comment or review, beside the first response of any
kind), `merged` and `hours_observed`; needs_follow_up and trending name each item's author, and trending its
labels.

Revision ID: 0007_first_reply
Revises: 0006_run_heartbeat
"""

from alembic import op

from chalicelib.insight import create_views

revision = "0007_first_reply"
down_revision = "0006_run_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    """Nothing to undo: the views only gain columns."""
