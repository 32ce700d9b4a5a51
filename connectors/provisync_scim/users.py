"""One user at a time: compare, then create, update, disable or delete as the toggles say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from provisync_scim.discovery import TargetFeatures
from provisync_scim.lookup import Finder
from provisync_scim.mapping import (
    ENTERPRISE_ATTRIBUTES,
    apply,
    differing,
    is_custom,
    normalise,
    patch_operations,
    read,
    shown,
    user_payload,
)
from provisync_scim.resource_sync import ResourceSync
from provisync_scim.settings import ScimSettings
from provisync_scim.writes import Resource, ResourceWriter, WriteResult
from provisync_sdk import (
    Action,
    AttributeDifference,
    DeprovisionAction,
    DesiredUser,
    EntityKind,
    EntityOutcome,
    EntityState,
    Removal,
    RunFailure,
)


def match_key(settings: ScimSettings, attributes: Mapping[str, Any]) -> str | None:
    """The value a user is matched on at the target, normalised; ``None`` when it has none."""
    name = settings.matching_attribute
    value = normalise(name, attributes.get(name))
    return None if value is None else str(value)


def _differences(
    attributes: Mapping[str, Any], resource: Mapping[str, Any], names: list[str]
) -> tuple[AttributeDifference, ...]:
    return tuple(
        AttributeDifference(name, shown(attributes.get(name)), shown(read(resource, name)))
        for name in names
    )


class UserSync(ResourceSync):
    """Brings one user account in line with its desired state."""

    def __init__(
        self,
        settings: ScimSettings,
        features: TargetFeatures,
        writer: ResourceWriter,
        finder: Finder,
        *,
        dry_run: bool = False,
    ) -> None:
        endpoint = settings.users_endpoint
        super().__init__(settings, features, writer, finder, endpoint, dry_run=dry_run)

    def _outcome(self, user: DesiredUser, state: EntityState, **kwargs: Any) -> EntityOutcome:
        return EntityOutcome(kind=EntityKind.USER, key=user.key, state=state, **kwargs)

    def _writable(self, names: list[str], attributes: Mapping[str, Any]) -> list[str]:
        """The differing attributes the toggles and the target's schema let us write."""
        allowed = []
        for name in names:
            if not self._takes(name):
                continue  # the target's schema has no such attribute
            if name == "active" and not normalise("active", attributes.get("active")):
                if self.settings.disable_enabled:
                    allowed.append(name)
            elif self.settings.update_enabled:
                allowed.append(name)
        return allowed

    async def sync(self, user: DesiredUser, existing: Resource | None) -> EntityOutcome:
        if existing is None:
            return await self._create(user)
        return await self._update(user, existing)

    def _takes(self, name: str) -> bool:
        """Whether the target's schema has the attribute (as far as discovery tells)."""
        if name in ENTERPRISE_ATTRIBUTES:
            return self.features.enterprise
        if is_custom(name):
            known = self.features.extension_names
            return not known or name in known
        return True

    def _payload(self, user: DesiredUser) -> Resource:
        attributes = {k: v for k, v in user.attributes.items() if self._takes(k)}
        return user_payload(attributes)

    async def _create(self, user: DesiredUser) -> EntityOutcome:
        if not self.settings.create_enabled:
            return self._outcome(
                user,
                EntityState.UNSYNCED,
                reason="no account at the target, and creating accounts is turned off",
            )
        result = await self.writer.create(self.endpoint, self._payload(user))
        if result.lost:
            # The create may have been applied with its answer lost: look before repeating it.
            existing = await self._look_up(user)
            if existing is not None:
                return await self._update(user, existing)
            result = await self.writer.create(self.endpoint, self._payload(user))
        if result.status == 409:  # created meanwhile (or by an earlier, lost attempt)
            # Ask the target: the run's snapshot predates the account it refuses to repeat.
            existing = await self._look_up(user)
            if existing is not None:
                return await self._update(user, existing)
            return self._outcome(
                user,
                EntityState.FAILED,
                action=Action.CREATE,
                reason=f"the target refused to create the account ({result.error}), and no "
                f"account with this {self.settings.matching_attribute} was found there",
            )
        return await self._created(user, result)

    async def _look_up(self, user: DesiredUser) -> Resource | None:
        key = match_key(self.settings, user.attributes)
        return await self.finder.find_fresh(key) if key else None

    async def create_many(self, users: list[DesiredUser], chunk: int) -> list[EntityOutcome]:
        """Create accounts through /Bulk, ``chunk`` at a time; fall back to one by one."""
        outcomes: list[EntityOutcome] = []
        try:
            await self._create_chunks(users, chunk, outcomes)
        except RunFailure as failure:  # the accounts created before it are reported with it
            raise failure.with_outcomes(outcomes) from None
        return outcomes

    async def _create_chunks(
        self, users: list[DesiredUser], chunk: int, outcomes: list[EntityOutcome]
    ) -> None:
        for start in range(0, len(users), chunk):
            batch = users[start : start + chunk]
            results = await self.writer.bulk_create(
                self.endpoint, [self._payload(u) for u in batch]
            )
            if results is None:
                for user in batch:  # one at a time, so a failure keeps the ones done
                    outcomes.append(await self._create(user))
                continue
            for user, result in zip(batch, results, strict=True):
                # A 409 (the account exists) goes the single way: find it, then update it.
                outcomes.append(
                    await self._create(user)
                    if result.status == 409
                    else await self._created(user, result)
                )

    async def _created(self, user: DesiredUser, result: WriteResult) -> EntityOutcome:
        if not result.ok:
            return self._outcome(
                user,
                EntityState.FAILED,
                action=Action.CREATE,
                reason=f"the target refused to create the account: {result.error}",
            )
        created = result.resource
        if created is None:
            # A 2xx is no evidence by itself: the account must be seen at the target.
            created = await self._look_up(user)
            if created is None:
                return self._outcome(
                    user,
                    EntityState.FAILED,
                    action=Action.CREATE,
                    reason=f"the target answered the create with {result.note}, and no "
                    f"account with this {self.settings.matching_attribute} was found there",
                )
        self._remember(created)
        target_id = str(created.get("id") or "") or None
        missing = differing(user.attributes, created)
        if missing:
            return self._outcome(
                user,
                EntityState.PARTIAL,
                action=Action.CREATE,
                target_id=target_id,
                reason="account created, but the target did not keep: " + ", ".join(missing),
                differences=_differences(user.attributes, created, missing),
            )
        return self._outcome(user, EntityState.SUCCESS, action=Action.CREATE, target_id=target_id)

    async def _update(self, user: DesiredUser, existing: Resource) -> EntityOutcome:
        if user.create_only:
            # "On create only" attributes went into the create; an existing account keeps its.
            kept = {k: v for k, v in user.attributes.items() if k not in user.create_only}
            user = replace(user, attributes=kept)
        target_id = str(existing.get("id") or "") or None
        names = differing(user.attributes, existing)
        if not names:
            return self._outcome(user, EntityState.SUCCESS, target_id=target_id)
        writable = self._writable(names, user.attributes)
        held = existing
        action = Action.NONE
        if writable:
            disabling = writable == ["active"] and not normalise(
                "active", user.attributes["active"]
            )
            action = Action.DISABLE if disabling else Action.UPDATE

            def rebuild(current: Resource) -> tuple[Resource, list[dict[str, Any]]]:
                wanted = apply(current, user.attributes, writable)
                return wanted, patch_operations(wanted, writable)

            result = await self.writer.modify(self.endpoint, existing, rebuild)
            fresh = None
            if not result.ok and not self.dry_run and target_id:
                # Refused: judge from what the target holds (a retried update whose first
                # attempt was applied is refused, yet the account is right).
                fresh = await self.writer.read(self.endpoint, target_id)
                if fresh is not None and differing(user.attributes, fresh):
                    fresh = None
            if fresh is not None:
                result = WriteResult(fresh, 200)
            if not result.ok or result.resource is None:
                return self._outcome(
                    user,
                    EntityState.FAILED,
                    action=action,
                    target_id=target_id,
                    reason=f"the target refused to update the account: {result.error}",
                )
            held = result.resource
            self._remember(held)
        remaining = differing(user.attributes, held)
        if not remaining:
            # A preview says what the update would change (the real one changed it).
            planned = _differences(user.attributes, existing, writable) if self.dry_run else ()
            return self._outcome(
                user,
                EntityState.SUCCESS,
                action=action,
                target_id=target_id,
                differences=planned,
            )
        blocked = [n for n in remaining if n not in writable]
        reasons = []
        if blocked:
            reasons.append("the account differs and the rule may not change: " + ", ".join(blocked))
        refused = [n for n in remaining if n in writable]
        if refused:
            reasons.append("the target did not take: " + ", ".join(refused))
        return self._outcome(
            user,
            EntityState.PARTIAL,
            action=action,
            target_id=target_id,
            reason="; ".join(reasons),
            differences=_differences(user.attributes, held, remaining),
        )

    async def remove(self, removal: Removal, existing: Resource | None) -> EntityOutcome:
        """Deprovision a user who left the rule's scope."""

        def done(action: Action = Action.NONE, reason: str | None = None) -> EntityOutcome:
            return EntityOutcome(
                kind=EntityKind.USER,
                key=removal.key,
                state=EntityState.SUCCESS,
                action=action,
                reason=reason,
                removed=True,
                target_id=existing.get("id") if existing else None,
            )

        if existing is None or removal.action is DeprovisionAction.NOTHING:
            return done()
        if removal.action is DeprovisionAction.DELETE:
            result = await self.writer.delete(self.endpoint, existing)
            action = Action.DELETE
            if result.ok and not self.dry_run:
                self.finder.forget(str(existing["id"]))
        else:
            if not self.settings.disable_enabled:
                return done(reason="left the rule's scope; disabling accounts is turned off")
            if read(existing, "active") is False:
                return done()
            action = Action.DISABLE

            def rebuild(current: Resource) -> tuple[Resource, list[dict[str, Any]]]:
                wanted = apply(current, {"active": False}, ["active"])
                return wanted, patch_operations(wanted, ["active"])

            result = await self.writer.modify(self.endpoint, existing, rebuild)
            if result.ok and result.resource is not None:
                self._remember(result.resource)
        if not result.ok:
            return EntityOutcome(
                kind=EntityKind.USER,
                key=removal.key,
                state=EntityState.FAILED,
                action=action,
                reason=f"the target refused to {action.value.lower()} the account: {result.error}",
                target_id=str(existing["id"]),
            )
        return done(action)
