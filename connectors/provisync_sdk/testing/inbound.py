"""Inbound scenarios: read seeded source records, incrementally where supported, write back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from provisync_sdk import Capability, Direction, WriteBackRequest
from provisync_sdk.testing.session import Kit, KitSession, scenario, unique_name
from provisync_sdk.testing.target import maybe_await

DEFAULT_WRITE_BACK_VALUES: Mapping[str, Any] = {
    "email": "written.back@example.com",
    "phone": "+1 555-0100",
    "title": "Written back",
}


def source_user(label: str) -> dict[str, Any]:
    name = unique_name(label)
    return {
        "userName": name,
        "givenName": label.capitalize(),
        "familyName": "Conformance",
        "displayName": f"{label.capitalize()} Conformance",
        "email": f"{name}@example.com",
        "active": True,
    }


async def seed(kit: Kit, *records: Mapping[str, Any]) -> None:
    seeder = kit.target.seed_users
    if seeder is None:
        pytest.fail("an INBOUND connector's conformance target must offer seed_users")
    await maybe_await(seeder(list(records)))


class InboundScenarios:
    """Scenarios for connector types with the INBOUND direction."""

    @scenario("read users")
    def test_read_users(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.INBOUND)
        records = [source_user("ada"), source_user("grace")]

        async def scenario(session: KitSession) -> None:
            await seed(conformance_kit, *records)
            users, _ = await session.read_users()
            for record in records:
                name = record["userName"]
                assert name in users, f"{name} was seeded but not read"
                assert users[name].active, f"{name} was read as inactive"
            again, _ = await session.read_users()
            for record in records:
                name = record["userName"]
                assert again[name].key == users[name].key, f"{name}'s key is not stable"

        conformance_kit.run(scenario)

    @scenario("incremental read")
    def test_incremental_read(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.INBOUND)
        conformance_kit.require(Capability.INCREMENTAL_READ)
        first, later = source_user("first"), source_user("later")

        async def scenario(session: KitSession) -> None:
            await seed(conformance_kit, first)
            full, watermark = await session.read_users()
            assert first["userName"] in full
            assert watermark, "a full read of an INCREMENTAL_READ connector gives a watermark"
            await seed(conformance_kit, later)
            changed, next_watermark = await session.read_users(watermark)
            assert later["userName"] in changed, "an incremental read missed a new user"
            assert first["userName"] not in changed, "an incremental read gave an unchanged user"
            assert next_watermark, "an incremental read gives the next watermark"
            change = conformance_kit.target.change_user
            if change is not None:
                await maybe_await(change(first["userName"], {"title": "Changed"}))
                moved, _ = await session.read_users(next_watermark)
                assert first["userName"] in moved, "an incremental read missed a change"

        conformance_kit.run(scenario)

    @scenario("write-back")
    def test_write_back(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.INBOUND)
        conformance_kit.require(Capability.WRITE_BACK)
        record = source_user("wb")

        async def scenario(session: KitSession) -> None:
            attributes = sorted(session.connector.write_back_attributes())
            if not attributes:
                pytest.skip("the target's settings configure no write-back attributes")
            values = {**DEFAULT_WRITE_BACK_VALUES, **conformance_kit.target.write_back_values}
            wanted = {a: values.get(a, f"kit-{a}") for a in attributes}
            await seed(conformance_kit, record)
            users, _ = await session.read_users()
            key = users[record["userName"]].key
            outcomes = await session.write_back([WriteBackRequest(key=key, attributes=wanted)])
            assert outcomes[key].ok, f"the write-back failed: {outcomes[key].reason}"
            users, _ = await session.read_users()
            written = users[record["userName"]].attributes
            for attribute, value in wanted.items():
                if attribute in written:
                    assert written[attribute] == value, f"{attribute} was not written back"

        conformance_kit.run(scenario)

    @scenario("write-back errors are failed outcomes with reasons")
    def test_write_back_rejected(self, conformance_kit: Kit) -> None:
        conformance_kit.require_direction(Direction.INBOUND)
        conformance_kit.require(Capability.WRITE_BACK)
        rejected = conformance_kit.require_hint("rejected_write_back_user_name")

        async def scenario(session: KitSession) -> None:
            attributes = sorted(session.connector.write_back_attributes())
            if not attributes:
                pytest.skip("the target's settings configure no write-back attributes")
            good = source_user("good")
            await seed(conformance_kit, {**source_user("bad"), "userName": rejected}, good)
            users, _ = await session.read_users()
            values = {**DEFAULT_WRITE_BACK_VALUES, **conformance_kit.target.write_back_values}
            wanted = {a: values.get(a, f"kit-{a}") for a in attributes}
            bad_key, good_key = users[rejected].key, users[good["userName"]].key
            outcomes = await session.write_back(
                [
                    WriteBackRequest(key=bad_key, attributes=wanted),
                    WriteBackRequest(key=good_key, attributes=wanted),
                ]
            )
            assert not outcomes[bad_key].ok, "the source accepted a write-back it should refuse"
            assert outcomes[good_key].ok, "one refused write-back failed another"

        conformance_kit.run(scenario)
