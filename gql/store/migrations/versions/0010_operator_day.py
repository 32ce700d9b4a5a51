"""operator's day: what a write-back wrote, and why a run was started

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.add_column(sa.Column('write_back_attributes', sa.JSON(), nullable=True))
    with op.batch_alter_table('sync_run') as batch:
        batch.add_column(sa.Column('reason', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_run') as batch:
        batch.drop_column('reason')
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.drop_column('write_back_attributes')
