"""ids never reused on SQLite (AUTOINCREMENT), and the entity retry queue

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose ids become Relay global ids. Without AUTOINCREMENT SQLite hands the largest
# id out again after a delete; PostgreSQL sequences never go back, so only SQLite changes.
AUTOINCREMENT_TABLES = (
    'directory_user',
    'directory_group',
    'provisioning_connection',
    'rule',
    'entity_sync_state',
    'sync_run',
    'run_chunk',
    'audit_event',
    'api_token',
    'held_operation',
    'preview_item',
)


def _recreate_with_autoincrement() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    # Batch mode copies each table and drops the old one: with foreign keys enforced, that
    # drop would cascade (memberships, states, runs would go). The pragma only takes effect
    # outside a transaction, which is where a migration of an existing database starts; a
    # fresh database has no rows to lose.
    op.execute('PRAGMA foreign_keys=OFF')
    for table in AUTOINCREMENT_TABLES:
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': True}
        ):
            pass
    op.execute('PRAGMA foreign_keys=ON')


def upgrade() -> None:
    _recreate_with_autoincrement()
    op.create_table(
        'entity_retry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('entity_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rule_id'], ['rule.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rule_id', 'kind', 'entity_key', name='uq_retry_entity'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_retry_due', 'entity_retry', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retry_due', table_name='entity_retry')
    op.drop_table('entity_retry')
