"""The simulator on its own: paging, the pinned As_Of moment, the transaction log, faults."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
from lxml import etree
from pydantic import SecretStr

from provisync_workday.reader import Criteria, get_workers_request, parse_page
from provisync_workday.settings import WorkdaySettings
from provisync_workday.simulator import SimulatedTenant
from provisync_workday.soap import envelope, request_element, sub
from provisync_workday.xmlns import BSVC
from tests.connectors.workday.conftest import PASSWORD, USER, days

NS = {"wd": BSVC}


def settings(base_url: str, password: str = PASSWORD) -> WorkdaySettings:
    return WorkdaySettings(
        base_url=base_url, tenant="acme", username=USER, password=SecretStr(password), page_size=4
    )


async def post(
    base_url: str,
    operation: etree._Element,
    password: str = PASSWORD,
) -> httpx2.Response:
    config = settings(base_url, password)
    async with httpx2.AsyncClient() as client:
        return await client.post(
            config.endpoint,
            content=envelope(config, operation),
            headers={"Content-Type": "text/xml"},
        )


def employee_ids(content: bytes) -> list[str]:
    root = etree.fromstring(content)
    return root.xpath(
        "//wd:Worker/wd:Worker_Reference/wd:ID[@wd:type='Employee_ID']/text()", namespaces=NS
    )


async def test_pages_are_pinned_to_one_as_of_moment(tenant: SimulatedTenant, base_url: str):
    tenant.generate(10)
    config = settings(base_url)
    first = await post(base_url, get_workers_request(config, 1, 4, None, None))
    assert first.status_code == 200
    page = parse_page(first.content)
    assert (page.total, page.pages) == (10, 3)
    root = etree.fromstring(first.content)
    assert root.findtext(".//wd:Response_Results/wd:Page_Results", namespaces=NS) == "4"
    # a hire and a rename entered after the first page do not show on later pages
    late = tenant.hire("Late", "Comer")
    renamed_wid = tenant.wid_of("21009")
    tenant.change(renamed_wid, legal_last="Renamed")
    seen = employee_ids(first.content)
    for number in (2, 3):
        answer = await post(base_url, get_workers_request(config, number, 4, page.as_of, None))
        assert parse_page(answer.content).total == 10
        assert b"Renamed" not in answer.content
        seen += employee_ids(answer.content)
    assert seen == [str(21001 + i) for i in range(10)]
    now = await post(base_url, get_workers_request(config, 3, 4, None, None))
    assert late.employee_id in employee_ids(now.content)
    assert b"Renamed" in now.content


async def test_transaction_log_ranges(tenant: SimulatedTenant):
    tenant.generate(3)
    mark = tenant.now()
    changed = tenant.change(tenant.wid_of("21002"), business_title="Director")
    leaver = tenant.terminate(tenant.wid_of("21003"), tenant.today() + days(10))
    later = tenant.now()
    kinds = [entry.kind for entry in tenant.log]
    assert kinds == ["Hire"] * 3 + ["Change", "Termination"]
    assert tenant.changed_wids(later, (mark, later), (None, None)) == [changed.wid, leaver.wid]
    # the termination is effective in ten days: only an effective range reaching it matches
    in_ten = datetime.combine(tenant.today() + days(10), datetime.min.time(), UTC)
    assert tenant.changed_wids(later, (None, later), (later, in_ten)) == [leaver.wid]
    assert tenant.changed_wids(later, (None, later), (later, in_ten - days(1))) == []
    # nothing entered after the read's moment is visible
    assert tenant.changed_wids(mark, (mark, None), (None, None)) == []


async def test_wrong_password_is_an_authentication_fault(tenant: SimulatedTenant, base_url: str):
    response = await post(
        base_url, get_workers_request(settings(base_url), 1, 1, None, None), password="wrong"
    )
    assert response.status_code == 500
    root = etree.fromstring(response.content)
    assert root.findtext(".//faultcode") == "SOAP-ENV:Client.authenticationError"
    assert root.findtext(".//faultstring") == "invalid username or password"


async def test_count_out_of_range_and_missing_version_are_validation_faults(
    tenant: SimulatedTenant, base_url: str
):
    too_many = await post(base_url, get_workers_request(settings(base_url), 1, 1000, None, None))
    assert too_many.status_code == 500
    assert b"Client.validationError" in too_many.content
    assert b"allowed 1-999" in too_many.content
    no_version = get_workers_request(settings(base_url), 1, 10, None, Criteria())
    del no_version.attrib[f"{{{BSVC}}}version"]
    answer = await post(base_url, no_version)
    assert answer.status_code == 500 and b"version attribute is required" in answer.content


async def test_two_primary_work_emails_are_refused(tenant: SimulatedTenant, base_url: str):
    worker = tenant.hire("Ada", "Lovelace", email="ada@example.com", user_name="ada")
    request = request_element("Maintain_Contact_Information_for_Person_Event_Request", "v44.0")
    data = sub(request, "Maintain_Contact_Information_Data")
    sub(sub(data, "Worker_Reference"), "ID", worker.wid, type="WID")
    info = sub(data, "Worker_Contact_Information_Data")
    for address in ("a@example.com", "b@example.com"):
        item = sub(info, "Email_Address_Data")
        sub(item, "Email_Address", address)
        type_data = sub(sub(item, "Usage_Data"), "Type_Data", Primary="true")
        sub(sub(type_data, "Type_Reference"), "ID", "WORK", type="Communication_Usage_Type_ID")
    response = await post(base_url, request)
    assert response.status_code == 500
    root = etree.fromstring(response.content)
    error = root.find(".//wd:Validation_Fault/wd:Validation_Error", NS)
    assert error is not None
    assert "Exactly one primary email address" in error.findtext("wd:Message", "", NS)
    assert error.findtext("wd:Xpath", "", NS).endswith("Email_Address_Data[1]")
    assert tenant.worker(worker.wid).emails[0].address == "ada@example.com"


async def test_injected_page_failures_are_consumed(tenant: SimulatedTenant, base_url: str):
    tenant.generate(5)
    tenant.faults.failing_pages[1] = 1
    request = get_workers_request(settings(base_url), 1, 4, None, None)
    first = await post(base_url, request)
    assert first.status_code == 500 and b"SOAP-ENV:Server" in first.content
    second = await post(base_url, request)
    assert second.status_code == 200


async def test_unknown_tenant_is_not_found(base_url: str):
    async with httpx2.AsyncClient() as client:
        response = await client.post(
            f"{base_url}/ccx/service/other/Human_Resources/v44.0", content=b"<x/>"
        )
    assert response.status_code == 404
