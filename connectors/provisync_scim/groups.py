"""Groups: matched by displayName, created when missing, membership merged or overwritten."""

from __future__ import annotations

from typing import Any

from provisync_scim.discovery import TargetFeatures
from provisync_scim.lookup import Finder, quote
from provisync_scim.mapping import group_payload, member_ids
from provisync_scim.resource_sync import ResourceSync
from provisync_scim.settings import ScimSettings
from provisync_scim.writes import Rebuild, Resource, ResourceWriter
from provisync_sdk import (
    Action,
    AttributeDifference,
    DeprovisionAction,
    DesiredGroup,
    EntityKind,
    EntityOutcome,
    EntityState,
    Removal,
)


def group_key(display_name: str) -> str:
    return display_name.strip().lower()


def _name(group: Resource) -> str:
    return str(group.get("displayName") or "").strip()


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


class GroupSync(ResourceSync):
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
        endpoint = settings.groups_endpoint
        super().__init__(settings, features, writer, finder, endpoint, dry_run=dry_run)

    def _wanted(self, group: DesiredGroup) -> set[str]:
        return {m.target_id for m in group.members if m.target_id}

    def _plan(self, group: DesiredGroup, have: set[str]) -> tuple[set[str], set[str]]:
        """Members to add and to remove. ``merge`` removes only the members provisync put
        there that are no longer wanted; ``overwrite`` every member not wanted."""
        wanted = self._wanted(group)
        if self.settings.group_membership == "overwrite":
            remove = have - wanted
        else:
            remove = (set(group.managed_members) & have) - wanted
        return wanted - have, remove

    def _changes(self, group: DesiredGroup, current: Resource) -> list[dict[str, Any]]:
        """The PATCH operations that bring ``current`` to the desired group."""
        operations: list[dict[str, Any]] = []
        if _name(current) != group.display_name.strip():
            operations.append(
                {"op": "replace", "path": "displayName", "value": group.display_name.strip()}
            )
        plus, minus = self._plan(group, member_ids(current))
        return operations + _operations(plus, minus)

    def _rebuild(self, group: DesiredGroup) -> Rebuild:
        def rebuild(current: Resource) -> tuple[Resource, list[dict[str, Any]]]:
            plus, minus = self._plan(group, member_ids(current))
            members = (member_ids(current) | plus) - minus
            wanted = {
                **current,
                "displayName": group.display_name.strip(),
                "members": [{"value": m} for m in sorted(members)],
            }
            return wanted, self._changes(group, current)

        return rebuild

    def _managed(self, group: DesiredGroup, held: Resource) -> tuple[str, ...] | None:
        """The members provisync manages once the target holds ``held``."""
        if self.dry_run:
            return None
        present = member_ids(held)
        return tuple(sorted((set(group.managed_members) | self._wanted(group)) & present))

    async def _create(self, group: DesiredGroup) -> tuple[Resource | None, EntityOutcome | None]:
        if not self.settings.create_enabled:
            return None, self._outcome(
                group,
                EntityState.UNSYNCED,
                reason="no group at the target, and creating is turned off",
            )
        payload = group_payload(group.display_name.strip(), self._wanted(group))
        result = await self.writer.create(self.endpoint, payload)
        if result.lost:
            # The create may have been applied with its answer lost, and a repeat would make
            # a second group (targets need not refuse duplicate names): look first.
            found = await self.finder.find_fresh(group.display_name)
            if found is not None:
                return found, None
            result = await self.writer.create(self.endpoint, payload)
        if result.ok and result.resource is not None:
            return result.resource, None
        if result.status == 409 or (result.ok and not self.dry_run):
            # Created by a lost earlier attempt, or a 2xx without a resource: ask the target.
            found = await self.finder.find_fresh(group.display_name)
            if found is not None:
                return found, None
        why = result.error if not result.ok else result.note
        return None, self._outcome(
            group,
            EntityState.FAILED,
            action=Action.CREATE,
            reason=f"the target did not create the group ({why}), and no group with this "
            "displayName was found there",
        )

    async def sync(self, group: DesiredGroup, existing: Resource | None) -> EntityOutcome:
        action = Action.NONE
        if existing is None:
            existing, failed = await self._create(group)
            if failed is not None or existing is None:
                assert failed is not None
                return failed
            action = Action.CREATE
            self._remember(existing)
        target_id = str(existing.get("id") or "") or None
        changes = self._changes(group, existing)
        planned: tuple[AttributeDifference, ...] = ()
        if changes and self.dry_run:
            planned = self._differences(group, existing)
        if changes:
            if not self.settings.update_enabled:
                return self._partial(
                    group, existing, action, "the group differs and updates are turned off"
                )
            action = Action.UPDATE if action is Action.NONE else action
            result = await self.writer.modify(self.endpoint, existing, self._rebuild(group))
            held = result.resource if result.ok else None
            if held is None and not self.dry_run:
                # The target refused: judge from what it holds (a retried update whose
                # first attempt was applied is refused, yet the group is right).
                held = await self.writer.read(self.endpoint, str(existing["id"]))
                if held is not None and self._changes(group, held):
                    held = None
            if held is None:
                return self._outcome(
                    group,
                    EntityState.FAILED,
                    action=action,
                    target_id=target_id,
                    reason=f"the target refused to update the group: {result.error}",
                )
            existing = held
            self._remember(existing)
            if self._changes(group, existing):
                return self._partial(group, existing, action, "the target did not take the change")
        unknown = [m.key for m in group.members if not m.target_id]
        if unknown:
            return self._partial(
                group,
                existing,
                action,
                f"{len(unknown)} member(s) have no account at the target",
            )
        return self._outcome(
            group,
            EntityState.SUCCESS,
            action=action,
            target_id=target_id,
            differences=planned,
            managed_members=self._managed(group, existing),
        )

    def _differences(self, group: DesiredGroup, held: Resource) -> tuple[AttributeDifference, ...]:
        differences = []
        if _name(held) != group.display_name.strip():
            differences.append(
                AttributeDifference("displayName", group.display_name.strip(), _name(held))
            )
        plus, minus = self._plan(group, member_ids(held))
        have = member_ids(held)
        if plus or minus or any(not m.target_id for m in group.members):
            wanted = (have | plus) - minus
            differences.append(
                AttributeDifference(
                    "members",
                    f"{len(wanted) + sum(1 for m in group.members if not m.target_id)} members",
                    f"{len(have)} members",
                )
            )
        return tuple(differences)

    def _partial(
        self, group: DesiredGroup, existing: Resource, action: Action, reason: str
    ) -> EntityOutcome:
        return self._outcome(
            group,
            EntityState.PARTIAL,
            action=action,
            target_id=str(existing.get("id") or "") or None,
            reason=reason,
            differences=self._differences(group, existing)
            or (AttributeDifference("members", None, None),),
            managed_members=self._managed(group, existing),
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
