"""extension attributes on directory users and groups; mappings as entries; decision trails

Each rule's ``attribute_mappings`` (canonical attribute -> directory column overrides) becomes
the full list of mapping entries in ``mappings`` that produces the same target values: every
canonical attribute from its (overridden) field, userName the matching attribute.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:30:00
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


DEFAULT_FIELDS = {
    'userName': 'user_name', 'givenName': 'given_name', 'familyName': 'family_name',
    'displayName': 'display_name', 'email': 'email', 'phone': 'phone', 'title': 'title',
    'department': 'department', 'employeeId': 'employee_id', 'manager': 'manager',
    'active': 'active',
}
# Frozen here: the migration must not change when the application's defaults do.
COLUMN_ATTRIBUTES = {column: attribute for attribute, column in DEFAULT_FIELDS.items()}


def entries_of(mappings: dict[str, str]) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for attribute in DEFAULT_FIELDS:
        column = mappings.get(attribute)
        source = COLUMN_ATTRIBUTES.get(column, attribute) if column else attribute
        matching = attribute == 'userName'
        entries.append({
            'target': attribute, 'source': 'FIELD', 'value': source, 'applies': 'ALWAYS',
            'matching': matching, 'matchingOrder': 1 if matching else None,
        })
    return entries


def legacy_of(entries: list[dict[str, object]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in entries:
        target, value = str(entry.get('target')), entry.get('value')
        if entry.get('source') == 'FIELD' and value != target and value in DEFAULT_FIELDS:
            out[target] = DEFAULT_FIELDS[str(value)]
    return out


def _load(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def _rebuild_rule(change: object) -> None:
    """Change the rule table in batch mode. On SQLite that copies the table: foreign keys are
    off meanwhile (dropping the old table would cascade to states and runs) and the copy keeps
    AUTOINCREMENT (ids are never reused, see 0007)."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('rule', table_kwargs={'sqlite_autoincrement': True}) as batch:
        change(batch)  # type: ignore[operator]
    if sqlite:
        op.execute('PRAGMA foreign_keys=ON')


def upgrade() -> None:
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.add_column(sa.Column('decision', sa.JSON(), nullable=True))
    with op.batch_alter_table('rule') as batch:
        batch.add_column(sa.Column('mappings', sa.JSON(), nullable=False, server_default='[]'))
    rule = sa.table(
        'rule', sa.column('id', sa.Integer), sa.column('attribute_mappings', sa.JSON),
        sa.column('mappings', sa.JSON),
    )
    connection = op.get_bind()
    for rule_id, legacy in connection.execute(sa.select(rule.c.id, rule.c.attribute_mappings)):
        loaded = _load(legacy)
        entries = entries_of(loaded if isinstance(loaded, dict) else {})
        connection.execute(rule.update().where(rule.c.id == rule_id).values(mappings=entries))
    _rebuild_rule(lambda batch: batch.drop_column('attribute_mappings'))
    for table in ('directory_user', 'directory_group'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column('extension_attributes', sa.JSON(), nullable=False, server_default='{}')
            )


def downgrade() -> None:
    with op.batch_alter_table('entity_sync_state') as batch:
        batch.drop_column('decision')
    with op.batch_alter_table('rule') as batch:
        batch.add_column(
            sa.Column('attribute_mappings', sa.JSON(), nullable=False, server_default='{}')
        )
    rule = sa.table(
        'rule', sa.column('id', sa.Integer), sa.column('attribute_mappings', sa.JSON),
        sa.column('mappings', sa.JSON),
    )
    connection = op.get_bind()
    for rule_id, entries in connection.execute(sa.select(rule.c.id, rule.c.mappings)):
        loaded = _load(entries)
        legacy = legacy_of(loaded if isinstance(loaded, list) else [])
        connection.execute(
            rule.update().where(rule.c.id == rule_id).values(attribute_mappings=legacy)
        )
    with op.batch_alter_table('rule') as batch:
        batch.alter_column('attribute_mappings', server_default=None)
        batch.drop_column('mappings')
    for table in ('directory_user', 'directory_group'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('extension_attributes')
