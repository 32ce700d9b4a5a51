"""A page's workers read in one XSLT pass give exactly what compiled XPath gives per worker."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from provisync_workday.page_fields import page_fields
from provisync_workday.workers import (
    MalformedWorker,
    PrimaryContact,
    fields_of,
    record_of,
    worker_to_record,
)
from provisync_workday.xmlns import BSVC

_WD = f'xmlns:wd="{BSVC}"'


def _usage(primary: str, usage: str = "WORK") -> str:
    return (
        f'<wd:Usage_Data wd:Public="1"><wd:Type_Data wd:Primary="{primary}"><wd:Type_Reference>'
        f'<wd:ID wd:type="Communication_Usage_Type_ID">{usage}</wd:ID>'
        "</wd:Type_Reference></wd:Type_Data></wd:Usage_Data>"
    )


WORKERS = [
    # the usual shape, with a manager and padded texts
    """<wd:Worker><wd:Worker_Reference><wd:ID wd:type="WID"> w1 </wd:ID>
    <wd:ID wd:type="Employee_ID">1001</wd:ID></wd:Worker_Reference>
    <wd:Worker_Descriptor>Ada Lovelace</wd:Worker_Descriptor>
    <wd:Worker_Data><wd:Worker_ID>1001</wd:Worker_ID><wd:User_ID>ada</wd:User_ID>
    <wd:Personal_Data><wd:Name_Data>
    <wd:Legal_Name_Data><wd:Name_Detail_Data><wd:First_Name>  Ada </wd:First_Name>
    <wd:Last_Name>Lovelace</wd:Last_Name></wd:Name_Detail_Data></wd:Legal_Name_Data>
    <wd:Preferred_Name_Data><wd:Name_Detail_Data><wd:First_Name>Countess</wd:First_Name>
    </wd:Name_Detail_Data></wd:Preferred_Name_Data></wd:Name_Data>
    <wd:Contact_Data>
    <wd:Phone_Data><wd:International_Phone_Code>44</wd:International_Phone_Code>
    <wd:Phone_Number>20 7946</wd:Phone_Number>"""
    + _usage("true")
    + """<wd:Phone_Reference><wd:ID wd:type="Phone_ID">P1</wd:ID></wd:Phone_Reference>
    </wd:Phone_Data>
    <wd:Email_Address_Data><wd:Email_Address>home@example.com</wd:Email_Address>"""
    + _usage("1", "HOME")
    + """</wd:Email_Address_Data>
    <wd:Email_Address_Data><wd:Email_Address>old@example.com</wd:Email_Address>"""
    + _usage("0")
    + """</wd:Email_Address_Data>
    <wd:Email_Address_Data><wd:Email_Address> ada@example.com </wd:Email_Address>"""
    + _usage("1", " WORK ")
    + """<wd:Email_Reference><wd:ID wd:type="Email_ID">E1</wd:ID></wd:Email_Reference>
    </wd:Email_Address_Data></wd:Contact_Data></wd:Personal_Data>
    <wd:Employment_Data><wd:Worker_Job_Data><wd:Position_Data>
    <wd:Business_Title>Analyst</wd:Business_Title>
    <wd:Manager_as_of_last_detected_manager_change_Reference>
    <wd:ID wd:type="WID">m1</wd:ID><wd:ID wd:type="Employee_ID">900</wd:ID>
    <wd:ID wd:type="Employee_ID">901</wd:ID>
    </wd:Manager_as_of_last_detected_manager_change_Reference></wd:Position_Data>
    </wd:Worker_Job_Data><wd:Worker_Job_Data><wd:Position_Data>
    <wd:Business_Title>Second job</wd:Business_Title></wd:Position_Data></wd:Worker_Job_Data>
    <wd:Worker_Status_Data><wd:Hire_Date>2020-01-02Z</wd:Hire_Date>
    <wd:Terminated>0</wd:Terminated></wd:Worker_Status_Data></wd:Employment_Data>
    <wd:User_Account_Data><wd:User_Name> ada.l </wd:User_Name></wd:User_Account_Data>
    </wd:Worker_Data></wd:Worker>""",
    # no WID, blank user name, an email item without address, a phone without a code
    """<wd:Worker><wd:Worker_Reference><wd:ID wd:type="Employee_ID">1002</wd:ID>
    <wd:ID>untyped</wd:ID></wd:Worker_Reference>
    <wd:Worker_Data><wd:User_Account_Data><wd:User_Name>  </wd:User_Name></wd:User_Account_Data>
    <wd:Personal_Data><wd:Contact_Data>
    <wd:Phone_Data><wd:Phone_Number>555</wd:Phone_Number>"""
    + _usage("1")
    + """</wd:Phone_Data><wd:Email_Address_Data>"""
    + _usage("1")
    + """</wd:Email_Address_Data></wd:Contact_Data></wd:Personal_Data>
    <wd:Employment_Data><wd:Worker_Status_Data><wd:Hire_Date>not-a-date</wd:Hire_Date>
    <wd:Terminated>1</wd:Terminated><wd:Termination_Date>2021-05-06</wd:Termination_Date>
    </wd:Worker_Status_Data></wd:Employment_Data></wd:Worker_Data></wd:Worker>""",
    # no Worker_Data at all; a blank WID and an id with a comment before its text
    """<wd:Worker><wd:Worker_Reference><wd:ID wd:type="WID"> </wd:ID>
    <wd:ID wd:type="Employee_ID"><!-- c -->1003</wd:ID></wd:Worker_Reference>
    <wd:Worker_Descriptor>Nobody</wd:Worker_Descriptor></wd:Worker>""",
    # two WIDs (the last one counts), two Worker_Data (the first one counts)
    """<wd:Worker><wd:Worker_Reference><wd:ID wd:type="WID">first</wd:ID></wd:Worker_Reference>
    <wd:Worker_Reference><wd:ID wd:type="WID">second</wd:ID></wd:Worker_Reference>
    <wd:Worker_Data><wd:User_ID>u4</wd:User_ID></wd:Worker_Data>
    <wd:Worker_Data><wd:User_ID>other</wd:User_ID></wd:Worker_Data></wd:Worker>""",
]


def _response(workers: list[str]) -> etree._Element:
    body = "".join(workers)
    return etree.fromstring(
        f"<wd:Get_Workers_Response {_WD}><wd:Response_Data>{body}</wd:Response_Data>"
        f"<wd:Response_Data>{WORKERS[0]}</wd:Response_Data></wd:Get_Workers_Response>"
    )


def test_page_fields_equal_per_worker_xpath() -> None:
    response = _response(WORKERS)
    elements = response.findall(f"{{{BSVC}}}Response_Data/{{{BSVC}}}Worker")
    assert len(elements) == len(WORKERS) + 1
    assert page_fields(response) == [fields_of(worker) for worker in elements]


def test_page_fields_values() -> None:
    first, second, third, fourth, _again = page_fields(_response(WORKERS))
    assert (first.wid, first.employee_id, first.user_name, first.user_id) == (
        "w1",
        "1001",
        "ada.l",
        "ada",
    )
    assert (first.legal_first, first.preferred_first, first.preferred_last) == (
        "Ada",
        "Countess",
        None,
    )
    assert first.email == PrimaryContact("ada@example.com", "E1")
    assert first.phone == PrimaryContact("+44 20 7946", "P1")
    assert (first.title, first.manager_employee_id) == ("Analyst", "901")
    assert (second.wid, second.key, second.user_name) == (None, "1002", None)
    assert second.email == PrimaryContact("", None)
    assert second.phone == PrimaryContact("555", None)
    assert (third.has_data, third.wid, third.key, third.employee_id) == (False, "", None, "")
    assert (fourth.wid, fourth.user_id) == ("second", "u4")


def test_records_and_failures_match_the_element_mapping() -> None:
    response = _response(WORKERS)
    elements = response.findall(f"{{{BSVC}}}Response_Data/{{{BSVC}}}Worker")
    today = date(2024, 1, 1)
    for fields, element in zip(page_fields(response), elements, strict=True):
        try:
            expected = worker_to_record(element, today)
        except MalformedWorker as exc:
            with pytest.raises(MalformedWorker, match=str(exc)):
                record_of(fields, today)
        else:
            assert record_of(fields, today) == expected


def test_an_empty_page() -> None:
    assert page_fields(etree.fromstring(f"<wd:Get_Workers_Response {_WD}/>")) == []
