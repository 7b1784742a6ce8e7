"""Alembic environment: the database is DB_URL (or the SSM parameter in Lambda), or a connection handed in."""

from alembic import context

from chalicelib.config import get_db_url
from chalicelib.db import get_engine
from chalicelib.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    with get_engine(get_db_url()).connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
