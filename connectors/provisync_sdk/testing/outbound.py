"""Outbound scenarios: reconcile users and groups at a live target, as the engine would."""

from __future__ import annotations

from typing import Any

from provisync_sdk import (
    Action,
    Capability,
    DeprovisionAction,
    DesiredGroup,
    DesiredUser,
    Direction,
    EntityKind,
    EntityState,
    MemberRef,
    ReconcileRequest,
    Removal,
)
from provisync_sdk.testing.session import Kit, KitSession, scenario, unique_name
from provisync_sdk.testing.target import maybe_await


def desired_user(label: str, **extra: Any) -> DesiredUser:
    """A user in canonical attributes, with a userName no earlier run used."""
    name = unique_name(label)
    attributes: dict[str, Any] = {
        "userName": name,
        "givenName": label.capitalize(),
        "familyName": "Conformance",
        "displayName": f"{label.capitalize()} Conformance",
        "email": f"{name}@example.com",
        "active": True,
        **extra,
    }
    return DesiredUser(key=f"key-{name}", attributes=attributes)


def with_target_id(user: DesiredUser, target_id: str | None, **changes: Any) -> DesiredUser:
    return DesiredUser(key=user.key, attributes={**user.attributes, **changes}, target_id=target_id)


async def create_users(session: KitSession, *users: DesiredUser) -> list[DesiredUser]:
    """Create users, check each is SUCCESS/CREATE, and return them with their target ids."""
    outcomes = await session.reconcile(ReconcileRequest(users=users))
    created = []
    for user in users:
        outcome = outcomes[(EntityKind.USER, user.key)]
        assert outcome.state is EntityState.SUCCESS, f"create failed: {outcome!r}"
        assert outcome.action is Action.CREATE, f"a new user's action is CREATE: {outcome!r}"
        created.append(with_target_id(user, outcome.target_id))
    return created


async def writes(session: KitSession) -> int | None:
    counter = session.target.count_writes
    return None if counter is None else await maybe_await(counter())


class OutboundScenarios:
    """Scenarios for connector types with the OUTBOUND direction."""

    @scenario("create users")
    def test_create_users(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)

        async def scenario(session: KitSession) -> None:
            users = await create_users(session, desired_user("ada"), desired_user("grace"))
            exists = session.target.user_exists
            for user in users:
                if exists is not None:
                    name = str(user.attributes["userName"])
                    assert await maybe_await(exists(name)), f"{name} is not at the target"

        conformance_kit.run(scenario)

    @scenario("update a user")
    def test_update_user(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)

        async def scenario(session: KitSession) -> None:
            (user,) = await create_users(session, desired_user("alan"))
            changed = with_target_id(user, user.target_id, displayName="Alan Changed")
            outcomes = await session.reconcile(ReconcileRequest(users=[changed]))
            outcome = outcomes[(EntityKind.USER, user.key)]
            assert outcome.state is EntityState.SUCCESS, outcome
            assert outcome.action is Action.UPDATE, f"a changed user's action is UPDATE: {outcome}"

        conformance_kit.run(scenario)

    @scenario("resync with nothing changed sends no writes")
    def test_resync_without_changes_sends_no_writes(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)

        async def scenario(session: KitSession) -> None:
            users = await create_users(session, desired_user("edsger"), desired_user("barbara"))
            before = await writes(session)
            outcomes = await session.reconcile(ReconcileRequest(users=users))
            for outcome in outcomes.values():
                assert outcome.state is EntityState.SUCCESS, outcome
                assert outcome.action is Action.NONE, f"nothing changed, yet: {outcome!r}"
            after = await writes(session)
            if before is not None:
                assert after == before, f"an unchanged resync sent {after - before} writes"  # type: ignore[operator]

        conformance_kit.run(scenario)

    @scenario("preview writes nothing")
    def test_preview_writes_nothing(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        conformance_kit.require(Capability.PREVIEW)

        async def scenario(session: KitSession) -> None:
            kept, changed, leaving = await create_users(
                session, desired_user("ken"), desired_user("dennis"), desired_user("bjarne")
            )
            new = desired_user("guido")
            update = with_target_id(changed, changed.target_id, displayName="Dennis Changed")
            removal = Removal(
                kind=EntityKind.USER,
                key=leaving.key,
                target_id=leaving.target_id,
                action=DeprovisionAction.DISABLE,
                attributes=leaving.attributes,
            )
            before = await writes(session)
            outcomes = await session.reconcile(
                ReconcileRequest(users=[kept, update, new], removals=[removal], dry_run=True)
            )
            planned = {key: o.action for (_, key), o in outcomes.items()}
            assert planned == {
                kept.key: Action.NONE,
                changed.key: Action.UPDATE,
                new.key: Action.CREATE,
                leaving.key: Action.DISABLE,
            }, f"a preview must report what it would do: {planned}"
            differences = outcomes[(EntityKind.USER, changed.key)].differences
            assert "displayName" in {d.attribute for d in differences}, (
                f"a previewed UPDATE must name the attributes it would change: {differences}"
            )
            after = await writes(session)
            if before is not None:
                assert after == before, f"a preview sent {after - before} writes"  # type: ignore[operator]
            exists, active = session.target.user_exists, session.target.user_active
            if exists is not None:
                name = str(new.attributes["userName"])
                assert not await maybe_await(exists(name)), f"a preview created {name}"
            if active is not None:
                name = str(leaving.attributes["userName"])
                assert await maybe_await(active(name)), f"a preview disabled {name}"

        conformance_kit.run(scenario)

    @scenario("disable a removed user")
    def test_disable_removed_user(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        self._deprovision(conformance_kit, DeprovisionAction.DISABLE)

    @scenario("delete a removed user")
    def test_delete_removed_user(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        self._deprovision(conformance_kit, DeprovisionAction.DELETE)

    def _deprovision(self, kit: Kit, action: DeprovisionAction) -> None:
        async def scenario(session: KitSession) -> None:
            (user,) = await create_users(session, desired_user("niklaus"))
            name = str(user.attributes["userName"])
            removal = Removal(
                kind=EntityKind.USER,
                key=user.key,
                target_id=user.target_id,
                action=action,
                attributes=user.attributes,
            )
            outcomes = await session.reconcile(ReconcileRequest(removals=[removal]))
            outcome = outcomes[(EntityKind.USER, user.key)]
            assert outcome.state is EntityState.SUCCESS and outcome.removed, outcome
            assert outcome.action is Action(action.value), outcome
            if action is DeprovisionAction.DELETE:
                session.created.pop((EntityKind.USER, user.key), None)
                if session.target.user_exists is not None:
                    gone = not await maybe_await(session.target.user_exists(name))
                    assert gone, f"{name} is still at the target after DELETE"
            else:
                session.created[(EntityKind.USER, user.key)] = user.target_id
                if session.target.user_active is not None:
                    active = await maybe_await(session.target.user_active(name))
                    assert active is False, f"{name} is not disabled at the target ({active})"

        kit.run(scenario)

    @scenario("groups: create, resync, update, delete")
    def test_groups(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        conformance_kit.require(Capability.GROUPS)

        async def scenario(session: KitSession) -> None:
            ada, bob = await create_users(session, desired_user("ada"), desired_user("bob"))
            members = (MemberRef(key=ada.key, target_id=ada.target_id),)
            name = unique_name("team")
            group = DesiredGroup(key=f"key-{name}", display_name=name, members=members)
            gkey = (EntityKind.GROUP, group.key)
            outcome = (await session.reconcile(ReconcileRequest(groups=[group])))[gkey]
            assert outcome.state is EntityState.SUCCESS, outcome
            assert outcome.action is Action.CREATE, outcome
            if session.target.group_exists is not None:
                assert await maybe_await(session.target.group_exists(name)), name
            same = DesiredGroup(group.key, name, members, target_id=outcome.target_id)
            before = await writes(session)
            again = (await session.reconcile(ReconcileRequest(groups=[same])))[gkey]
            assert again.state is EntityState.SUCCESS and again.action is Action.NONE, again
            if before is not None:
                assert await writes(session) == before, "an unchanged group was written"
            grown = DesiredGroup(
                group.key,
                name,
                (*members, MemberRef(key=bob.key, target_id=bob.target_id)),
                target_id=outcome.target_id,
            )
            updated = (await session.reconcile(ReconcileRequest(groups=[grown])))[gkey]
            assert updated.state is EntityState.SUCCESS, updated
            assert updated.action is Action.UPDATE, f"a new member is an UPDATE: {updated!r}"
            removal = Removal(
                kind=EntityKind.GROUP,
                key=group.key,
                target_id=outcome.target_id,
                action=DeprovisionAction.DELETE,
            )
            gone = (await session.reconcile(ReconcileRequest(removals=[removal])))[gkey]
            assert gone.state is EntityState.SUCCESS and gone.removed, gone
            if session.target.group_exists is not None:
                assert not await maybe_await(session.target.group_exists(name)), name

        conformance_kit.run(scenario)

    @scenario("target errors are FAILED outcomes with reasons")
    def test_target_rejects_user(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        rejected = conformance_kit.require_hint("rejected_user_name")

        async def scenario(session: KitSession) -> None:
            good = desired_user("good")
            bad = DesiredUser(
                key=f"key-{unique_name('bad')}",
                attributes={**desired_user("bad").attributes, "userName": rejected},
            )
            outcomes = await session.reconcile(ReconcileRequest(users=[good, bad]))
            failed = outcomes[(EntityKind.USER, bad.key)]
            assert failed.state is EntityState.FAILED, f"the target accepted it: {failed!r}"
            assert failed.reason, failed
            ok = outcomes[(EntityKind.USER, good.key)]
            assert ok.state is EntityState.SUCCESS, f"one bad user failed the batch: {ok!r}"

        conformance_kit.run(scenario)
