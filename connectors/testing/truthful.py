"""The kit's truth scenario: what a connector reports must be what its target then holds.

Turned on by :attr:`ConformanceTarget.truth_reader`, a
:class:`~connectors.testing.truth.TargetReader`
that reads the target directly (not through the connector under test).
"""

from __future__ import annotations

from connectors import (
    Capability,
    DesiredGroup,
    DesiredUser,
    Direction,
    EntityKind,
    EntityOutcome,
    MemberRef,
    ReconcileRequest,
)
from connectors.testing.outbound import desired_user
from connectors.testing.session import Kit, KitSession, scenario, unique_name
from connectors.testing.truth import StoredEntity, TargetReader, assert_truth, read_and_check


def _stored_user(user: DesiredUser, outcome: EntityOutcome) -> StoredEntity:
    return StoredEntity(
        EntityKind.USER,
        user.key,
        str(user.attributes["userName"]),
        outcome.state,
        outcome.reason,
        outcome.target_id,
        desired=user.attributes,
    )


class TruthScenarios:
    """Scenarios that compare reported outcomes with a direct read of the target."""

    @scenario("reported outcomes are the truth at the target")
    def test_outcomes_are_the_truth(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.OUTBOUND)
        reader: TargetReader = conformance_kit.require_hint("truth_reader")
        groups = Capability.GROUPS in conformance_kit.connector_type.capabilities

        async def scenario(session: KitSession) -> None:
            users = [desired_user("hopper"), desired_user("lovelace")]
            rejected = session.target.rejected_user_name
            if rejected:
                users.append(DesiredUser(f"key-{unique_name('rejected')}", {"userName": rejected}))
            outcomes = await session.reconcile(ReconcileRequest(users=users))
            stored = [_stored_user(u, outcomes[(EntityKind.USER, u.key)]) for u in users]
            if groups:
                members = tuple(
                    MemberRef(u.key, outcomes[(EntityKind.USER, u.key)].target_id) for u in users
                )
                group = DesiredGroup(f"key-{unique_name('g')}", unique_name("truth"), members)
                done = (await session.reconcile(ReconcileRequest(groups=[group])))[
                    (EntityKind.GROUP, group.key)
                ]
                stored.append(
                    StoredEntity(
                        EntityKind.GROUP,
                        group.key,
                        group.display_name,
                        done.state,
                        done.reason,
                        done.target_id,
                        members=frozenset(u.key for u in users),
                    )
                )
            assert_truth(await read_and_check(stored, reader))

        conformance_kit.run(scenario)
