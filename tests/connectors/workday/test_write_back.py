"""Write-back of email, phone and userName, over HTTP against the simulator."""

from __future__ import annotations

from provisync_sdk import WriteBackRequest
from provisync_workday.connector import split_phone
from provisync_workday.simulator import Email, SimulatedTenant, WorkerData
from tests.connectors.workday.conftest import MakeConnector, read_all


def hire(tenant: SimulatedTenant, name: str) -> WorkerData:
    return tenant.hire(
        name.title(), "Tester", email=f"{name}@example.com", phone="555-0100", user_name=name
    )


async def test_write_back_success_updates_in_place(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "ada")
    home = Email("ada@home.example", usage="HOME", primary=True, ref="EMAIL_REFERENCE-home")
    tenant.change(worker.wid, emails=(*tenant.worker(worker.wid).emails, home))
    connector = make_connector()
    outcomes = await connector.write_back(
        [
            WriteBackRequest(
                worker.wid,
                {
                    "email": "ada.lovelace@example.com",
                    "phone": "+44 20-7946-0018",
                    "userName": "alovelace",
                },
            )
        ]
    )
    assert [(o.key, o.ok, o.reason) for o in outcomes] == [(worker.wid, True, None)]
    now = tenant.worker(worker.wid)
    assert {(e.address, e.usage, e.primary) for e in now.emails} == {
        ("ada.lovelace@example.com", "WORK", True),
        ("ada@home.example", "HOME", True),
    }
    assert [(p.country_code, p.number, p.device_type) for p in now.phones] == [
        ("44", "20-7946-0018", "Landline")
    ]
    assert now.user_name == "alovelace"
    # the change is in the transaction log and the next read sees it
    record = {r.key: r for p in await read_all(connector) for r in p.records}[worker.wid]
    assert record.attributes["email"] == "ada.lovelace@example.com"
    assert record.attributes["phone"] == "+44 20-7946-0018"
    assert record.attributes["userName"] == "alovelace"


async def test_phone_without_country_code_fails_with_workday_reason(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "grace")
    [outcome] = await make_connector().write_back(
        [WriteBackRequest(worker.wid, {"phone": "555-0199"})]
    )
    assert outcome.ok is False
    assert outcome.reason is not None
    assert "Workday validation error: Country Phone Code is required." in outcome.reason
    assert "Phone_Data[1]/bsvc:International_Phone_Code" in outcome.reason
    assert tenant.worker(worker.wid).phones[0].number == "555-0100"


async def test_phone_without_device_type_fails(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "alan")
    [outcome] = await make_connector(phone_device_type="").write_back(
        [WriteBackRequest(worker.wid, {"phone": "+1 555-0199"})]
    )
    assert outcome.ok is False and "Phone Device Type is required" in (outcome.reason or "")


async def test_two_primary_work_emails_fail(tenant: SimulatedTenant, make_connector: MakeConnector):
    worker = hire(tenant, "edsger")
    # legacy data: a second primary WORK email already sits in Workday
    legacy = Email("e.dijkstra@old.example", ref="EMAIL_REFERENCE-legacy")
    tenant.change(worker.wid, emails=(*tenant.worker(worker.wid).emails, legacy))
    [outcome] = await make_connector().write_back(
        [WriteBackRequest(worker.wid, {"email": "edsger@new.example"})]
    )
    assert outcome.ok is False
    assert "Exactly one primary email address is required for usage type WORK" in (
        outcome.reason or ""
    )
    assert "more than one primary" in (outcome.reason or "")
    assert {e.address for e in tenant.worker(worker.wid).emails} == {
        "edsger@example.com",
        "e.dijkstra@old.example",
    }


async def test_user_name_with_semicolon_fails(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "barbara")
    [outcome] = await make_connector().write_back(
        [WriteBackRequest(worker.wid, {"userName": "bar;bara"})]
    )
    assert outcome.ok is False
    assert "userName not written" in (outcome.reason or "")
    assert "cannot contain the characters ';' or ':'" in (outcome.reason or "")
    assert tenant.worker(worker.wid).user_name == "barbara"


async def test_duplicate_user_name_fails(tenant: SimulatedTenant, make_connector: MakeConnector):
    first, second = hire(tenant, "donald"), hire(tenant, "frances")
    outcomes = await make_connector().write_back(
        [
            WriteBackRequest(second.wid, {"userName": "donald"}),
            WriteBackRequest(first.wid, {"userName": "dknuth"}),
        ]
    )
    assert [o.ok for o in outcomes] == [False, True]
    assert "User Name 'donald' is already in use." in (outcomes[0].reason or "")
    assert tenant.worker(second.wid).user_name == "frances"
    assert tenant.worker(first.wid).user_name == "dknuth"


async def test_pending_business_process_fails(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "ken")
    tenant.faults.pending_business_process.add(worker.wid)
    [outcome] = await make_connector().write_back(
        [WriteBackRequest(worker.wid, {"email": "ken@new.example", "userName": "kthompson"})]
    )
    assert outcome.ok is False
    assert outcome.reason is not None
    assert outcome.reason.startswith("email/phone not written: Workday processing fault:")
    assert "already in progress" in outcome.reason and "Business process pending" in outcome.reason
    # the account is not a business process: its update went through
    assert tenant.worker(worker.wid).user_name == "kthompson"
    assert tenant.worker(worker.wid).emails[0].address == "ken@example.com"


async def test_only_configured_attributes_are_written(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    worker = hire(tenant, "linus")
    before = len(tenant.log)
    [outcome] = await make_connector(write_back_attributes=["userName"]).write_back(
        [WriteBackRequest(worker.wid, {"email": "x@new.example", "userName": "ltorvalds"})]
    )
    assert outcome.ok
    now = tenant.worker(worker.wid)
    assert now.user_name == "ltorvalds" and now.emails[0].address == "linus@example.com"
    assert [e.kind for e in tenant.log[before:]] == ["Account Update"]


async def test_unknown_worker_fails_with_invalid_id(make_connector: MakeConnector):
    [outcome] = await make_connector().write_back(
        [WriteBackRequest("0" * 32, {"email": "nobody@example.com"})]
    )
    assert outcome.ok is False and "is not a valid ID value for type = 'WID'" in (
        outcome.reason or ""
    )


def test_split_phone():
    assert split_phone("+1 555-0100") == ("1", "555-0100")
    assert split_phone("+44 20 7946 0018") == ("44", "20 7946 0018")
    assert split_phone("555-0100") == (None, "555-0100")
