"""Groups: matched by displayName, created when missing, membership merged or overwritten."""

from __future__ import annotations

from typing import Any

from connectors import (
    Action,
    AttributeDifference,
    DeprovisionAction,
    DesiredGroup,
    EntityKind,
    EntityOutcome,
    EntityState,
    Removal,
)
from connectors.scim.discovery import TargetFeatures
from connectors.scim.lookup import Finder, quote
from connectors.scim.mapping import group_payload, member_ids
from connectors.scim.settings import ScimSettings
from connectors.scim.writes import Resource, ResourceWriter


def group_key(display_name: str) -> str:
    return display_name.strip().lower()


def _operations(add: set[str], remove: set[str]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    if add:
        operations.append(
            {"op": "add", "path": "members", "value": [{"value": m} for m in sorted(add)]}
        )
    operations += [
        {"op": "remove", "path": f"members[value eq {quote(m)}]"} for m in sorted(remove)
    ]
    return operations


class GroupSync:
    """Brings one group in line with its desired membership."""

    def __init__(
        self,
        settings: ScimSettings,
        features: TargetFeatures,
        writer: ResourceWriter,
        finder: Finder,
        *,
        dry_run: bool = False,
    ) -> None:
        self.settings = settings
        self.features = features
        self.writer = writer
        self.finder = finder
        self.endpoint = settings.groups_endpoint
        self.dry_run = dry_run
        """A preview: ``writer`` sends nothing, and the finder's snapshot must stay as read."""

    def _remember(self, resource: Resource) -> None:
        if not self.dry_run:
            self.finder.remember(resource)

    def _wanted(self, group: DesiredGroup) -> set[str]:
        return {m.target_id for m in group.members if m.target_id}

    def _plan(self, group: DesiredGroup, have: set[str]) -> tuple[set[str], set[str]]:
        wanted = self._wanted(group)
        remove = have - wanted if self.settings.group_membership == "overwrite" else set()
        return wanted - have, remove

    async def sync(self, group: DesiredGroup, existing: Resource | None) -> EntityOutcome:
        action = Action.NONE
        if existing is None:
            if not self.settings.create_enabled:
                return self._outcome(
                    group,
                    EntityState.UNSYNCED,
                    reason="no group at the target, and creating is turned off",
                )
            result = await self.writer.create(
                self.endpoint, group_payload(group.display_name, self._wanted(group))
            )
            if result.status == 409:
                found, _ = await self.finder.find([group.display_name])
                existing = found.get(group_key(group.display_name))
            elif not result.ok or result.resource is None:
                return self._outcome(
                    group,
                    EntityState.FAILED,
                    action=Action.CREATE,
                    reason=f"the target refused to create the group: {result.error}",
                )
            else:
                existing, action = result.resource, Action.CREATE
            if existing is None:
                return self._outcome(
                    group,
                    EntityState.FAILED,
                    action=Action.CREATE,
                    reason=f"the target refused to create the group: {result.error}",
                )
            self._remember(existing)
        target_id = str(existing.get("id") or "") or None
        add, remove = self._plan(group, member_ids(existing))
        planned: tuple[AttributeDifference, ...] = ()
        if (add or remove) and self.dry_run:
            wanted = (member_ids(existing) | add) - remove
            planned = (
                AttributeDifference(
                    "members", f"{len(wanted)} members", f"{len(member_ids(existing))} members"
                ),
            )
        if add or remove:
            if not self.settings.update_enabled:
                return self._partial(
                    group, existing, action, "membership differs and updates are turned off"
                )
            action = Action.UPDATE if action is Action.NONE else action

            def rebuild(current: Resource) -> tuple[Resource, list[dict[str, Any]]]:
                plus, minus = self._plan(group, member_ids(current))
                members = (member_ids(current) | plus) - minus
                wanted = {**current, "members": [{"value": m} for m in sorted(members)]}
                return wanted, _operations(plus, minus)

            result = await self.writer.modify(self.endpoint, existing, rebuild)
            if not result.ok or result.resource is None:
                return self._outcome(
                    group,
                    EntityState.FAILED,
                    action=action,
                    target_id=target_id,
                    reason=f"the target refused to update the membership: {result.error}",
                )
            existing = result.resource
            self._remember(existing)
            add, remove = self._plan(group, member_ids(existing))
            if add or remove:
                return self._partial(
                    group, existing, action, "the target did not take the membership"
                )
        unknown = [m.key for m in group.members if not m.target_id]
        if unknown:
            return self._partial(
                group,
                existing,
                action,
                f"{len(unknown)} member(s) have no account at the target",
            )
        return self._outcome(
            group, EntityState.SUCCESS, action=action, target_id=target_id, differences=planned
        )

    def _partial(
        self, group: DesiredGroup, existing: Resource, action: Action, reason: str
    ) -> EntityOutcome:
        held = member_ids(existing)
        return self._outcome(
            group,
            EntityState.PARTIAL,
            action=action,
            target_id=str(existing.get("id") or "") or None,
            reason=reason,
            differences=(
                AttributeDifference(
                    "members", f"{len(group.members)} members", f"{len(held)} members"
                ),
            ),
        )

    def _outcome(self, group: DesiredGroup, state: EntityState, **kwargs: Any) -> EntityOutcome:
        return EntityOutcome(kind=EntityKind.GROUP, key=group.key, state=state, **kwargs)

    async def remove(self, removal: Removal, existing: Resource | None) -> EntityOutcome:
        """A group that left the rule: deleted for DELETE; SCIM groups cannot be disabled."""
        target_id = str(existing["id"]) if existing else None
        if existing is None or removal.action is not DeprovisionAction.DELETE:
            return EntityOutcome(
                kind=EntityKind.GROUP,
                key=removal.key,
                state=EntityState.SUCCESS,
                removed=True,
                target_id=target_id,
            )
        result = await self.writer.delete(self.endpoint, existing)
        if not result.ok:
            return EntityOutcome(
                kind=EntityKind.GROUP,
                key=removal.key,
                state=EntityState.FAILED,
                action=Action.DELETE,
                target_id=target_id,
                reason=f"the target refused to delete the group: {result.error}",
            )
        if not self.dry_run:
            self.finder.forget(str(existing["id"]))
        return EntityOutcome(
            kind=EntityKind.GROUP,
            key=removal.key,
            state=EntityState.SUCCESS,
            action=Action.DELETE,
            removed=True,
            target_id=target_id,
        )
