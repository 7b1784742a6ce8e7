"""listing_pages: the ETag of each repo listing page (and of the org's repo listing), so a quiet repo's listings
answer 304, which GitHub does not count against the rate limit.

Revision ID: 0009_listing_pages
Revises: 0008_webhook_deliveries
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_listing_pages"
down_revision = "0008_webhook_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Created where it is missing (a database made by create_all already has it)."""
    if "listing_pages" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "listing_pages",
        sa.Column("url", sa.String(1000), primary_key=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("etag", sa.String(200), nullable=False),
        sa.Column("next_url", sa.String(1000), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("oldest", sa.DateTime(), nullable=True),
        sa.Column("newest", sa.DateTime(), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_listing_pages_scope", "listing_pages", ["scope"])


def downgrade() -> None:
    op.drop_index("ix_listing_pages_scope", "listing_pages")
    op.drop_table("listing_pages")
