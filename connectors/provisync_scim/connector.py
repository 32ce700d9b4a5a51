"""The SCIM connector instance: discovery once, then batches of users, removals and groups."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any

from provisync_scim.concurrency import Job, run_bounded
from provisync_scim.discovery import TargetFeatures, discover
from provisync_scim.groups import GroupSync, group_key
from provisync_scim.http import ScimHttp, describe
from provisync_scim.lookup import Finder
from provisync_scim.mapping import normalise, read
from provisync_scim.settings import ScimSettings
from provisync_scim.users import UserSync, match_key
from provisync_scim.writes import DryRunWriter, Resource, ResourceWriter
from provisync_sdk import (
    Action,
    AuthenticationFailed,
    ConnectionTestResult,
    Connector,
    ConnectorContext,
    DesiredGroup,
    DesiredUser,
    EntityKind,
    EntityOutcome,
    EntityState,
    MemberRef,
    ReconcileRequest,
    Removal,
    RunFailure,
    TargetAttribute,
    TargetUnreachable,
)

FILTER_PATHS = {"userName": "userName", "email": "emails.value"}


class ScimConnector(Connector[ScimSettings]):
    """Provisions users and groups to one SCIM 2.0 service provider."""

    def __init__(self, settings: ScimSettings, context: ConnectorContext) -> None:
        super().__init__(settings, context)
        self.http = ScimHttp(settings, settings.request_timeout or context.request_timeout)
        self.features: TargetFeatures | None = None
        self._ready_lock = asyncio.Lock()
        self._users: UserSync | None = None
        self._groups: GroupSync | None = None
        self._previews: tuple[UserSync, GroupSync] | None = None
        self._accounts: set[str] = set()
        """Ids of user accounts this instance has seen exist at the target (during a run)."""

    async def _ready(self) -> tuple[UserSync, GroupSync]:
        async with self._ready_lock:
            if self._users is None or self._groups is None:
                features = self.features = await discover(self.http)
                writer = ResourceWriter(self.http, features)
                s = self.settings
                attribute = s.matching_attribute
                user_finder = Finder(
                    self.http,
                    features,
                    s.users_endpoint,
                    FILTER_PATHS[attribute],
                    lambda r: _key(normalise(attribute, read(r, attribute))),
                    lambda k: str(normalise(attribute, k)),
                    chunk=s.filter_chunk,
                    page_size=s.page_size,
                )
                group_finder = Finder(
                    self.http,
                    features,
                    s.groups_endpoint,
                    "displayName",
                    lambda r: group_key(str(r.get("displayName") or "")) or None,
                    group_key,
                    chunk=s.filter_chunk,
                    page_size=s.page_size,
                )
                self._users = UserSync(s, features, writer, user_finder)
                self._groups = GroupSync(s, features, writer, group_finder)
            return self._users, self._groups

    async def target_attributes(self) -> Sequence[TargetAttribute] | None:
        """The User's extension attributes (enterprise and custom) the target's ``/Schemas``
        declares, by full name; ``None`` when it serves no ``/Schemas``."""
        features = self.features or await discover(self.http)
        self.features = features
        if "Schemas" not in features.served:
            return None
        return features.extension_attributes

    async def test_connection(self) -> ConnectionTestResult:
        """Discovery, then one authenticated read of the users endpoint."""
        try:
            features = self.features or await discover(self.http)
            self.features = features
            response = await self.http.request(
                "GET",
                self.settings.users_endpoint,
                params={"startIndex": 1, "count": 1},
                label="test",
            )
        except AuthenticationFailed as exc:
            return ConnectionTestResult(ok=False, message=str(exc), details={"auth": "rejected"})
        except TargetUnreachable as exc:
            return ConnectionTestResult(ok=False, message=str(exc), details={"reachable": "false"})
        details = {"reachable": "true", "auth": "accepted", **features.as_details()}
        if response.status_code != 200:
            return ConnectionTestResult(
                ok=False,
                message=f"the users endpoint did not answer a listing ({describe(response)})",
                details=details,
            )
        return ConnectionTestResult(
            ok=True,
            message=f"SCIM target answers at {self.settings.base_url}; credentials accepted",
            details=details,
        )

    async def _preview(self) -> tuple[UserSync, GroupSync]:
        """Syncs for dry runs: the same finders (reads), a writer that sends nothing."""
        users, groups = await self._ready()
        if self._previews is None:
            assert self.features is not None
            writer = DryRunWriter(self.http, self.features)
            self._previews = (
                UserSync(self.settings, self.features, writer, users.finder, dry_run=True),
                GroupSync(self.settings, self.features, writer, groups.finder, dry_run=True),
            )
        return self._previews

    async def reconcile(self, request: ReconcileRequest) -> Sequence[EntityOutcome]:
        users, groups = await (self._preview() if request.dry_run else self._ready())
        limit = self.settings.concurrency
        user_removals = [r for r in request.removals if r.kind is EntityKind.USER]
        group_removals = [r for r in request.removals if r.kind is EntityKind.GROUP]
        outcomes: list[EntityOutcome] = []
        try:
            if request.users or user_removals:
                outcomes += await self._users_pass(users, request.users, user_removals, limit)
                for outcome in outcomes:
                    if outcome.target_id and not outcome.removed:
                        self._accounts.add(outcome.target_id)
                    elif outcome.target_id and outcome.action is Action.DELETE:
                        self._accounts.discard(outcome.target_id)
            if request.groups or group_removals:
                desired = await self._existing_members(users, request.groups)
                outcomes += await self._groups_pass(groups, desired, group_removals, limit)
        except RunFailure as failure:  # what was done before it is reported with it
            raise failure.with_outcomes(outcomes) from None
        return outcomes

    async def _existing_members(
        self, users: UserSync, groups: Sequence[DesiredGroup]
    ) -> list[DesiredGroup]:
        """The groups with members whose account the target no longer holds marked as
        without an account: a group never gets (or keeps counting) a dead member id."""
        unknown = {m.target_id for g in groups for m in g.members if m.target_id} - self._accounts
        if not unknown:
            return list(groups)
        finder = users.finder
        if finder.snapshot is None and len(unknown) > MEMBER_LOOKUPS:
            await finder.load_snapshot()  # one listing instead of a read per member
        _by_key, alive = await finder.find([], sorted(unknown))
        self._accounts |= set(alive)
        dead = unknown - set(alive)
        if not dead:
            return list(groups)
        return [
            replace(
                g,
                members=tuple(MemberRef(m.key) if m.target_id in dead else m for m in g.members),
            )
            for g in groups
        ]

    async def _users_pass(
        self,
        sync: UserSync,
        desired: Sequence[DesiredUser],
        removals: Sequence[Removal],
        limit: int,
    ) -> list[EntityOutcome]:
        keys = {u.key: match_key(self.settings, u.attributes) for u in desired}
        removal_keys = {r.key: match_key(self.settings, r.attributes) for r in removals}
        hints = [u.target_id for u in desired if u.target_id]
        hints += [r.target_id for r in removals if r.target_id]
        wanted = [k for k in (*keys.values(), *removal_keys.values()) if k]
        by_key, by_id = await sync.finder.find(wanted, hints)

        def existing(key: str | None, hint: str | None) -> Resource | None:
            found = by_key.get(key) if key else None
            return found if found is not None else by_id.get(hint or "")

        jobs: list[Job] = []
        failed = self._unreadable(sync.finder, EntityKind.USER, desired, by_key, keys)
        unread = {o.key for o in failed}
        desired = [u for u in desired if u.key not in unread]
        new_users = [
            u for u in desired if keys[u.key] and existing(keys[u.key], u.target_id) is None
        ]
        bulk = self._bulk_size(len(new_users))
        if bulk:
            # First syncs create most accounts: /Bulk sends them `bulk` to a request.
            chunks = [new_users[i : i + bulk] for i in range(0, len(new_users), bulk)]
            for chunk in chunks:
                batch_crashed = [
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=u.key,
                        state=EntityState.FAILED,
                        action=Action.CREATE,
                    )
                    for u in chunk
                ]
                jobs.append((lambda c=chunk: sync.create_many(c, bulk), batch_crashed))  # type: ignore[misc]
            created = {u.key for u in new_users}
            desired = [u for u in desired if u.key not in created]
        for user in desired:
            key = keys[user.key]
            crashed = EntityOutcome(kind=EntityKind.USER, key=user.key, state=EntityState.FAILED)
            if key is None and not user.target_id:
                failed.append(
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=user.key,
                        state=EntityState.FAILED,
                        reason=f"no {self.settings.matching_attribute} to match the account on",
                    )
                )
                continue
            account = existing(key, user.target_id)
            jobs.append((lambda u=user, a=account: sync.sync(u, a), crashed))  # type: ignore[misc]
        for removal in removals:
            account = existing(removal_keys[removal.key], removal.target_id)
            crashed = EntityOutcome(kind=EntityKind.USER, key=removal.key, state=EntityState.FAILED)
            jobs.append((lambda r=removal, a=account: sync.remove(r, a), crashed))  # type: ignore[misc]
        return await _after(failed, run_bounded(jobs, limit))

    async def _groups_pass(
        self,
        sync: GroupSync,
        desired: Sequence[DesiredGroup],
        removals: Sequence[Removal],
        limit: int,
    ) -> list[EntityOutcome]:
        names = [g.display_name for g in desired]
        hints = [g.target_id for g in desired if g.target_id]
        hints += [r.target_id for r in removals if r.target_id]
        by_key, by_id = await sync.finder.find(names, hints)
        group_keys = {g.key: group_key(g.display_name) for g in desired}
        failed = self._unreadable(sync.finder, EntityKind.GROUP, desired, by_key, group_keys)
        unread = {o.key for o in failed}
        jobs: list[Job] = []
        for group in (g for g in desired if g.key not in unread):
            # The group synced before comes first: after a rename its old name is still there.
            account = by_id.get(group.target_id or "") or by_key.get(group_key(group.display_name))
            crashed = EntityOutcome(kind=EntityKind.GROUP, key=group.key, state=EntityState.FAILED)
            jobs.append((lambda g=group, a=account: sync.sync(g, a), crashed))  # type: ignore[misc]
        for removal in removals:
            account = by_id.get(removal.target_id or "")
            crashed = EntityOutcome(
                kind=EntityKind.GROUP, key=removal.key, state=EntityState.FAILED
            )
            jobs.append((lambda r=removal, a=account: sync.remove(r, a), crashed))  # type: ignore[misc]
        return await _after(failed, run_bounded(jobs, limit))

    @staticmethod
    def _unreadable(
        finder: Finder,
        kind: EntityKind,
        desired: Sequence[DesiredUser] | Sequence[DesiredGroup],
        by_key: Mapping[str, Resource],
        keys: Mapping[str, str | None],
    ) -> list[EntityOutcome]:
        """FAILED for entities whose account could only be read as garbage (not matched
        otherwise): creating another account could duplicate it."""
        return [
            EntityOutcome(
                kind=kind,
                key=entity.key,
                state=EntityState.FAILED,
                target_id=entity.target_id,
                reason=finder.unreadable[entity.target_id],
            )
            for entity in desired
            if entity.target_id in finder.unreadable and (keys.get(entity.key) or "") not in by_key
        ]

    def _bulk_size(self, creates: int) -> int:
        """Operations per /Bulk request, or 0 when creates go one by one."""
        features = self.features
        if not (
            self.settings.use_bulk and self.settings.create_enabled and features and features.bulk
        ):
            return 0
        size = min(BULK_CHUNK, features.bulk_max_operations or BULK_CHUNK)
        return size if creates >= 2 and size >= 2 else 0

    async def aclose(self) -> None:
        await self.http.aclose()


BULK_CHUNK = 100
MEMBER_LOOKUPS = 20
"""Members of unknown existence read one by one at most; more and the users are listed."""


async def _after(
    done: list[EntityOutcome], rest: Coroutine[Any, Any, list[EntityOutcome]]
) -> list[EntityOutcome]:
    """``done`` and then the outcomes of ``rest``; a run failure in ``rest`` carries ``done``."""
    try:
        return done + await rest
    except RunFailure as failure:
        raise failure.with_outcomes(done) from None


def _key(value: object) -> str | None:
    return None if value is None else str(value)
