"""The compact reason trail each stored entity state keeps of its last decision.

A few short lines, derived from what the engine decided and the connector reported, so a
console can answer "why is this user in this state?" without asking the target again
(``explainEntity`` asks the target for the whole story).
"""

from __future__ import annotations

from provisync_sdk import Action, EntityOutcome, EntityState

MAX_LINE = 240


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def decision_trail(outcome: EntityOutcome, target_id: str | None) -> list[str]:
    """The trail of one outcome (``target_id``: the id stored with it)."""
    if outcome.removed:
        return ["left the rule's scope", f"deprovisioned: {outcome.action.value.lower()}"]
    reason = outcome.reason or ""
    if outcome.state is EntityState.FAILED and reason.startswith("mapping failed"):
        return ["in scope", _short(reason), "not sent to the target"]
    trail = ["in scope"]
    trail.append(f"account {target_id} at the target" if target_id else "no account at the target")
    if outcome.action is not Action.NONE:
        trail.append(f"action: {outcome.action.value.lower()}")
    state = outcome.state.value
    trail.append(_short(f"{state}: {reason}") if reason else state)
    if outcome.differences:
        trail.append(_short("differs: " + ", ".join(d.attribute for d in outcome.differences)))
    return trail
