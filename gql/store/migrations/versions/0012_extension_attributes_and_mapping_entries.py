"""extension attributes on directory users and groups

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-01 20:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('directory_user', 'directory_group'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column('extension_attributes', sa.JSON(), nullable=False, server_default='{}')
            )
        with op.batch_alter_table(table) as batch:
            batch.alter_column('extension_attributes', server_default=None)


def downgrade() -> None:
    for table in ('directory_user', 'directory_group'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('extension_attributes')
