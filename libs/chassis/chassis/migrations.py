"""The body of every service's Alembic env.py: its own database, its tables and the chassis'."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine

from chassis.config import database_url
from chassis.db import normalize_url
from chassis.tables import metadata as chassis_metadata


def run(service: str, metadata: MetaData) -> None:
    target_metadata = [metadata, chassis_metadata]
    url = normalize_url(context.config.get_main_option("sqlalchemy.url") or database_url(service))
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
