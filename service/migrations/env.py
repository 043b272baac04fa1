"""Alembic environment: migrations run on the connection service.db.migrate hands over."""

from __future__ import annotations

from alembic import context

from service.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: the URL from the service's settings
    from service.db import make_engine
    from service.settings import ServiceSettings

    connection = make_engine(ServiceSettings.from_env().database_url).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
