"""listing_pages.entries: what a listing page held, for a listing whose 304 must give it back (the org's repos,
read at the start of every run), so an unchanged org listing costs no counted request.

Revision ID: 0010_listing_page_entries
Revises: 0009_listing_pages
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_listing_page_entries"
down_revision = "0009_listing_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Added where it is missing (a database made by create_all already has it)."""
    columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("listing_pages")}
    if "entries" not in columns:
        op.add_column("listing_pages", sa.Column("entries", JSONB().with_variant(sa.JSON(), "sqlite"), nullable=True))


def downgrade() -> None:
    op.drop_column("listing_pages", "entries")
