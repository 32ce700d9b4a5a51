"""operator controls: deletion protection, quarantine, held operations, previews

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:15:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletion_max_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deletion_max_percent', sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column('failure_streak', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('quarantine_next_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('quarantine_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table('held_operation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('entity_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('target_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['rule.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_held_rule_status', 'held_operation', ['rule_id', 'status', 'id'])
    op.create_table('preview_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('entity_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('differences', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sync_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_preview_run_action', 'preview_item', ['run_id', 'action', 'id'])


def downgrade() -> None:
    op.drop_index('ix_preview_run_action', table_name='preview_item')
    op.drop_table('preview_item')
    op.drop_index('ix_held_rule_status', table_name='held_operation')
    op.drop_table('held_operation')
    with op.batch_alter_table('rule', schema=None) as batch_op:
        for column in ('quarantine_reason', 'quarantine_next_at', 'quarantined_at',
                       'failure_streak', 'deletion_max_percent', 'deletion_max_count'):
            batch_op.drop_column(column)
