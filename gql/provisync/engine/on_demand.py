"""Provision on demand: one user, or one group with its members, synced now, step by step.

The steps say what an administrator wants to know when one account is wrong: is the entity
in the rule's scope, which account at the target it matches (from a dry-run reconcile, when
the connector can preview), what was done, and how it ended. The work itself is an ordinary
outbound reconcile, so it leaves the same states and audit events as a full run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sqlmodel import select

from provisync.engine.context import RunContext
from provisync.engine.mapping import display_name_of, source_attributes
from provisync.engine.mapping_eval import compiled
from provisync.engine.outbound import Names, desired_groups, map_user, reconcile_batch
from provisync.engine.recorder import load_states
from provisync.engine.scope import compile_scope
from provisync.engine.scrubbing import scrub_outcomes
from provisync.store.models import DirectoryGroup, DirectoryUser, GroupMembership
from provisync_sdk import (
    Action,
    DeprovisionAction,
    DesiredUser,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReconcileRequest,
    Removal,
)


class StepStatus(StrEnum):
    OK = "OK"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an on-demand provisioning: SCOPE, MATCH, ACTION or OUTCOME."""

    name: str
    status: StepStatus
    detail: str


class OnDemand:
    """Runs inside an ON_DEMAND run; fills :attr:`steps` as it goes (read even on failure)."""

    def __init__(self, can_preview: bool) -> None:
        self.can_preview = can_preview
        self.steps: list[Step] = []

    def step(self, name: str, status: StepStatus, detail: str) -> None:
        self.steps.append(Step(name, status, detail))

    async def user(self, ctx: RunContext, user_id: int) -> None:
        async with ctx.db.session() as session:
            user = await session.get(DirectoryUser, user_id)
            if user is None:
                self.step("SCOPE", StepStatus.FAILED, "the directory user no longer exists")
                return
            key = str(user.id)
            state = (await load_states(session, ctx.rule_id, EntityKind.USER, [key])).get(key)
        name = display_name_of(user)
        names: Names = {(EntityKind.USER, key): name}
        filter_text = f" (filter: {ctx.rule.user_filter})" if ctx.rule.user_filter else ""
        if compile_scope(ctx.rule.user_filter)(source_attributes(user)):
            self.step("SCOPE", StepStatus.OK, f"{name} is in the rule's scope{filter_text}")
            mapped = map_user(
                compiled(ctx.rule.mappings), user, state.target_id if state else None
            )
            if not isinstance(mapped, DesiredUser):
                self.step("MAPPING", StepStatus.FAILED, mapped.reason or "mapping failed")
                await reconcile_batch(ctx, ReconcileRequest(), names, 1, None, [mapped])
                return
            request = ReconcileRequest(users=[mapped])
        elif state is None:
            self.step(
                "SCOPE", StepStatus.SKIPPED, f"{name} is not in the rule's scope{filter_text}"
            )
            self.step("ACTION", StepStatus.SKIPPED, "nothing to do: the rule never provisioned it")
            return
        else:
            action = DeprovisionAction(ctx.rule.deprovision_action)
            self.step(
                "SCOPE",
                StepStatus.OK,
                f"{name} left the rule's scope{filter_text}: deprovision ({action.value.lower()})",
            )
            request = ReconcileRequest(
                removals=[
                    Removal(kind=EntityKind.USER, key=key, target_id=state.target_id, action=action)
                ]
            )
        await self._match(ctx, request, EntityKind.USER, key)
        outcomes = scrub_outcomes(ctx.scrub, await reconcile_batch(ctx, request, names, 1))
        self._ended(outcomes, EntityKind.USER, key)

    async def group(self, ctx: RunContext, group_id: int) -> None:
        if group_id not in ctx.rule.group_ids:
            self.step("SCOPE", StepStatus.SKIPPED, "the group is not one of the rule's groups")
            return
        async with ctx.db.session() as session:
            group = await session.get(DirectoryGroup, group_id)
            member_ids = list(
                await session.scalars(
                    select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)
                )
            )
            members = [u for u in [await session.get(DirectoryUser, i) for i in member_ids] if u]
        if group is None:
            self.step("SCOPE", StepStatus.FAILED, "the directory group no longer exists")
            return
        scope = compile_scope(ctx.rule.user_filter)
        in_scope = [
            u for u in members if scope(source_attributes(u))
        ]
        self.step(
            "SCOPE",
            StepStatus.OK,
            f"group {group.display_name!r} is one of the rule's groups; "
            f"{len(in_scope)} of its {len(members)} members are in scope",
        )
        keys = [str(u.id) for u in in_scope]
        async with ctx.db.session() as session:
            states = await load_states(session, ctx.rule_id, EntityKind.USER, keys)
        mapping = compiled(ctx.rule.mappings)
        mapped = [
            map_user(mapping, u, states[str(u.id)].target_id if str(u.id) in states else None)
            for u in in_scope
        ]
        users = ReconcileRequest(users=[m for m in mapped if isinstance(m, DesiredUser)])
        unmapped = [m for m in mapped if isinstance(m, EntityOutcome)]
        names: Names = {(EntityKind.USER, str(u.id)): display_name_of(u) for u in in_scope}
        member_outcomes = await reconcile_batch(ctx, users, names, len(in_scope), None, unmapped)
        by_state: dict[str, int] = {}
        for outcome in member_outcomes:
            by_state[outcome.state.value.lower()] = by_state.get(outcome.state.value.lower(), 0) + 1
        failed = by_state.get("failed", 0)
        self.step(
            "MEMBERS",
            StepStatus.FAILED if failed else StepStatus.OK,
            f"{len(member_outcomes)} members synced: "
            + (", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"),
        )
        desired, group_names = await desired_groups(ctx, [group_id], set(keys))
        request = ReconcileRequest(groups=desired)
        await self._match(ctx, request, EntityKind.GROUP, str(group_id))
        outcomes = scrub_outcomes(
            ctx.scrub, await reconcile_batch(ctx, request, group_names, 1)
        )
        self._ended(outcomes, EntityKind.GROUP, str(group_id))

    async def _match(
        self, ctx: RunContext, request: ReconcileRequest, kind: EntityKind, key: str
    ) -> None:
        """What the connector would do, asked as a dry run: which account it matches."""
        if not self.can_preview:
            self.step(
                "MATCH",
                StepStatus.SKIPPED,
                "the connector cannot preview: matching happens during the action",
            )
            return
        planned = await ctx.call(ctx.connector.reconcile(replace(request, dry_run=True)), "match")
        plan = next((o for o in planned if (o.kind, o.key) == (kind, key)), None)
        if plan is None:
            self.step("MATCH", StepStatus.FAILED, "the connector reported nothing for it")
        elif plan.action is Action.CREATE:
            self.step("MATCH", StepStatus.OK, "no account at the target matches: it is created")
        elif plan.state is EntityState.UNSYNCED and plan.target_id is None:
            self.step("MATCH", StepStatus.OK, "no account at the target matches")
        else:
            account = f"account {plan.target_id}" if plan.target_id else "an account"
            self.step(
                "MATCH",
                StepStatus.OK,
                f"matched {account} at the target; planned action: {plan.action.value.lower()}",
            )

    def _ended(self, outcomes: list[EntityOutcome], kind: EntityKind, key: str) -> None:
        outcome = next((o for o in outcomes if (o.kind, o.key) == (kind, key)), None)
        if outcome is None:
            self.step("OUTCOME", StepStatus.FAILED, "no outcome was reported")
            return
        failed = outcome.state is EntityState.FAILED
        self.step(
            "ACTION",
            StepStatus.FAILED if failed else StepStatus.OK,
            f"{outcome.action.value.lower()}"
            + (f" (target id {outcome.target_id})" if outcome.target_id else ""),
        )
        detail = (
            "removed from the rule's impacted entities"
            if outcome.removed
            else (f"state {outcome.state.value}")
        )
        if outcome.reason:
            detail += f": {outcome.reason}"
        if outcome.differences:
            detail += "; differs: " + ", ".join(d.attribute for d in outcome.differences)
        self.step("OUTCOME", StepStatus.FAILED if failed else StepStatus.OK, detail)
