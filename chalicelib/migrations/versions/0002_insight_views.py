"""Insight views: all_items, first_response, needs_follow_up, trending, external_prs.

Revision ID: 0002_insight_views
Revises: 0001_port_baseline
"""

from alembic import op

from chalicelib.insight import VIEWS, create_views

revision = "0002_insight_views"
down_revision = "0001_port_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
