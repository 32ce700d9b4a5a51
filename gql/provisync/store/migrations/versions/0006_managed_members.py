"""managed members: the target members provisync put in each synced group

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.add_column(sa.Column('managed_members', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.drop_column('managed_members')
