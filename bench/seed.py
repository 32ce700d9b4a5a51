"""Fast seeding of rules and entity states for the benchmarks (SQLite, raw SQL).

The engine's recorder keeps ``rule_counts`` in step with the states; seeding bypasses it for
speed, so this module recomputes the tallies with one GROUP BY after inserting.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from provisync.store.db import upgrade

STATES = (
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "PARTIAL",
    "UNSYNCED",
    "FAILED",
)


def seed(path: Path, rules: list[tuple[str, int]]) -> list[int]:
    """Create a migrated SQLite database with one connection and the given rules.

    :param rules: (name, number of user states) per rule; every rule is enabled.
    :return: the rule ids, in order.
    """
    upgrade(f"sqlite+aiosqlite:///{path}")
    now = datetime.now(UTC).isoformat(sep=" ")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "INSERT INTO provisioning_connection (name, connector_type, settings, secrets, created_at, updated_at)"
        " VALUES ('bench', 'scim', '{\"base_url\": \"http://127.0.0.1:9/scim/v2\"}', '{}', ?, ?)",
        (now, now),
    )
    ids = []
    for name, count in rules:
        cur = conn.execute(
            "INSERT INTO rule (name, enabled, direction, connection_id, group_ids, mappings,"
            " deprovision_action, poll_interval_seconds, last_sync_at, last_run_status, created_at, updated_at)"
            " VALUES (?, 1, 'OUTBOUND', 1, '[]', '[]', 'DISABLE', 900, ?, 'SUCCEEDED', ?, ?)",
            (name, now, now, now),
        )
        rule_id = int(cur.lastrowid or 0)
        ids.append(rule_id)
        batch = (
            (rule_id, "USER", str(i), f"user{i}", STATES[i % len(STATES)], "NONE", "[]", now)
            for i in range(count)
        )
        conn.executemany(
            "INSERT INTO entity_sync_state (rule_id, kind, entity_key, display_name, state, action,"
            " differences, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
    conn.execute(
        """INSERT INTO rule_counts (rule_id, kind, success, unsynced, partial, failed, write_back_failures)
           SELECT rule_id, kind, SUM(state = 'SUCCESS'), SUM(state = 'UNSYNCED'), SUM(state = 'PARTIAL'),
                  SUM(state = 'FAILED'), 0 FROM entity_sync_state GROUP BY rule_id, kind"""
    )
    conn.commit()
    conn.close()
    return ids
