"""How the client commands print rules and runs: plain tables and lines, no colour."""

from __future__ import annotations

from typing import Any

COUNTS = ("impacted", "success", "unsynced", "partialSynced", "failed")
RULES_HEADER = [
    "NAME",
    "STATUS",
    "DIRECTION",
    "SOURCE",
    "TARGET",
    "KIND",
    "IMPACTED",
    "SUCCESS",
    "UNSYNCED",
    "PARTIAL",
    "FAILED",
    "WB-FAILED",
    "LAST SYNC",
]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _show(value: Any) -> str:
    return "-" if value is None else str(value)


def rule_rows(rule: dict[str, Any]) -> list[list[str]]:
    """One line per entity kind: users, and groups when the rule has any (as the console)."""
    head = [
        rule["name"],
        rule["status"],
        rule["direction"],
        rule["source"]["name"],
        rule["target"]["name"],
    ]
    last = rule["lastSync"] or "never"
    summary = rule["summary"]
    if summary is None:
        return [[*head, "-", *(["-"] * len(COUNTS)), "-", last]]
    rows = []
    for kind in ("users", "groups"):
        counts = summary[kind]
        if kind == "groups" and not counts["impacted"]:
            continue  # a users-only rule shows no empty group line
        rows.append(
            [
                *head,
                kind,
                *(str(counts[key]) for key in COUNTS),
                _show(counts["writeBackFailures"]),
                last,
            ]
        )
    return rows


def outcomes_line(run: dict[str, Any]) -> str:
    """The run's outcome counts: "created 3, updated 1, failed 1" style, from its tallies."""
    counts = {c["outcome"]: c["count"] for c in run.get("outcomes") or []}
    if not counts:
        return "no entity changed"
    return ", ".join(f"{name.lower().replace('_', ' ')} {counts[name]}" for name in sorted(counts))


__all__ = ["RULES_HEADER", "outcomes_line", "rule_rows", "table"]
