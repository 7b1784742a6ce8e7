"""Port baseline: create what is missing, add the port's columns and indexes to the original's tables.

Converges from any of three starting points: an empty database, a database created by the original app
(the six tables with data), or one made by `create_all`. Running it again changes nothing.

Revision ID: 0001_port_baseline
Revises:
"""

import sqlalchemy as sa
from alembic import op

from chalicelib.models import Base, JsonObject

revision = "0001_port_baseline"
down_revision = None
branch_labels = None
depends_on = None

PORT_COLUMNS = {
    "members": [("extra", JsonObject), ("row_hash", sa.String(32))],
    "issues": [("extra", JsonObject), ("row_hash", sa.String(32))],
    "pull_requests": [("extra", JsonObject), ("row_hash", sa.String(32))],
    "events": [("extra", JsonObject), ("row_hash", sa.String(32))],
    "transfers": [("extra", JsonObject), ("row_hash", sa.String(32))],
    "event_polls": [("page_size", sa.Integer()), ("row_hash", sa.String(32))],
}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    Base.metadata.create_all(bind, tables=[t for t in Base.metadata.sorted_tables if t.name not in existing])
    for table_name, columns in PORT_COLUMNS.items():
        if table_name not in existing:
            continue
        present = {column["name"] for column in inspector.get_columns(table_name)}
        for name, column_type in columns:
            if name not in present:
                op.add_column(table_name, sa.Column(name, column_type, nullable=True))
        indexed = {index["name"] for index in inspector.get_indexes(table_name)}
        for index in Base.metadata.tables[table_name].indexes:
            if index.name not in indexed:
                index.create(bind)


def downgrade() -> None:
    for table_name, columns in PORT_COLUMNS.items():
        for index in Base.metadata.tables[table_name].indexes:
            op.drop_index(index.name, table_name=table_name, if_exists=True)
        for name, _ in columns:
            op.drop_column(table_name, name)
    for table_name in ("sync_state", "backfill_checkpoints", "transfer_checks", "job_runs"):
        op.drop_table(table_name)
