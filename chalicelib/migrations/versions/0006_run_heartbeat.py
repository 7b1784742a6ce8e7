"""job_runs.heartbeat_at: a running job says every minute that it still runs, so a long one (a backfill) is not
taken for one killed from outside; only a run whose heartbeat stopped is called abandoned.

Revision ID: 0006_run_heartbeat
Revises: 0005_first_response_per_item
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_run_heartbeat"
down_revision = "0005_first_response_per_item"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Added where it is missing (a database made by create_all or the baseline already has it)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("job_runs")}
    if "heartbeat_at" not in present:
        op.add_column("job_runs", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("job_runs", "heartbeat_at")
