"""webhook_deliveries: each webhook delivery applied once, by GitHub's delivery id.

Revision ID: 0008_webhook_deliveries
Revises: 0007_first_reply
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_webhook_deliveries"
down_revision = "0007_first_reply"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Created where it is missing (a database made by create_all already has it)."""
    if "webhook_deliveries" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("action", sa.String(60), nullable=True),
        sa.Column("repo", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("applied_at", sa.DateTime(), server_default=sa.func.now(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
