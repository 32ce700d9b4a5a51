"""The Alembic migrations build exactly the tables the SQLModel models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import provisync.store.models  # noqa: F401  (registers every table on SQLModel.metadata)
from provisync.store.db import upgrade


def test_migrating_to_head_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
