"""Build the simulator's SOAP responses (Workday's ``wd:`` shapes) with lxml."""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from provisync_workday.simulator.model import (
    Email,
    Phone,
    ProcessingFault,
    ValidationFault,
    WorkdayFault,
    WorkerData,
)
from provisync_workday.xmlns import BSVC, SOAP_ENV, bsvc, env

NSMAP = {"SOAP-ENV": SOAP_ENV, "wd": BSVC}
_SUB = etree.SubElement
_TYPE = bsvc("type")


def wd_date(day: date) -> str:
    """A date the way Workday writes it, with its zone (the simulator's tenant is UTC)."""
    return day.isoformat() + "Z"


def wd_datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def envelope() -> tuple[etree._Element, etree._Element]:
    """A new ``SOAP-ENV:Envelope`` and its ``Body``."""
    root = etree.Element(env("Envelope"), nsmap=NSMAP)
    return root, _SUB(root, env("Body"))


def to_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _text(parent: etree._Element, local: str, value: str) -> etree._Element:
    element = _SUB(parent, bsvc(local))
    element.text = value
    return element


def _ref(parent: etree._Element, local: str, ids: dict[str, str]) -> None:
    reference = _SUB(parent, bsvc(local))
    for id_type, value in ids.items():
        _SUB(reference, bsvc("ID"), {_TYPE: id_type}).text = value


def _usage(parent: etree._Element, usage: str, primary: bool) -> None:
    usage_data = _SUB(parent, bsvc("Usage_Data"), {bsvc("Public"): "1"})
    type_data = _SUB(usage_data, bsvc("Type_Data"), {bsvc("Primary"): "1" if primary else "0"})
    _ref(type_data, "Type_Reference", {"Communication_Usage_Type_ID": usage})


def _phone(parent: etree._Element, phone: Phone) -> None:
    attributes = {}
    if phone.country_code:
        attributes[bsvc("International_Formatted_Phone")] = f"+{phone.country_code} {phone.number}"
    data = _SUB(parent, bsvc("Phone_Data"), attributes)
    if phone.country_code:
        _text(data, "International_Phone_Code", phone.country_code)
    _text(data, "Phone_Number", phone.number)
    if phone.device_type:
        _ref(data, "Phone_Device_Type_Reference", {"Phone_Device_Type_ID": phone.device_type})
    _usage(data, phone.usage, phone.primary)
    _ref(data, "Phone_Reference", {"Phone_ID": phone.ref})


def _email(parent: etree._Element, email: Email) -> None:
    data = _SUB(parent, bsvc("Email_Address_Data"))
    _text(data, "Email_Address", email.address)
    _usage(data, email.usage, email.primary)
    _ref(data, "Email_Reference", {"Email_ID": email.ref})


def _name(parent: etree._Element, local: str, first: str, last: str) -> None:
    holder = _SUB(parent, bsvc(local))
    detail = _SUB(holder, bsvc("Name_Detail_Data"), {bsvc("Formatted_Name"): f"{first} {last}"})
    _text(detail, "First_Name", first)
    _text(detail, "Last_Name", last)


def render_worker(
    parent: etree._Element,
    worker: WorkerData,
    effective_day: date,
    manager_wid: str | None,
    *,
    malformed: bool = False,
) -> None:
    """Append one ``wd:Worker`` as Get_Workers returns it, as of ``effective_day``."""
    node = _SUB(parent, bsvc("Worker"))
    _ref(node, "Worker_Reference", {"WID": worker.wid, "Employee_ID": worker.employee_id})
    first = worker.preferred_first or worker.legal_first
    last = worker.preferred_last or worker.legal_last
    _text(node, "Worker_Descriptor", f"{first} {last}")
    data = _SUB(node, bsvc("Worker_Data"))
    _text(data, "Worker_ID", worker.employee_id)
    if worker.user_name and not malformed:
        _text(data, "User_ID", worker.user_name)
    personal = _SUB(data, bsvc("Personal_Data"))
    names = _SUB(personal, bsvc("Name_Data"))
    _name(names, "Legal_Name_Data", worker.legal_first, worker.legal_last)
    if worker.preferred_first or worker.preferred_last:
        _name(names, "Preferred_Name_Data", first, last)
    contact = _SUB(personal, bsvc("Contact_Data"))
    for phone in worker.phones:
        _phone(contact, phone)
    for email in worker.emails:
        _email(contact, email)
    employment = _SUB(data, bsvc("Employment_Data"))
    job = _SUB(employment, bsvc("Worker_Job_Data"), {bsvc("Primary_Job"): "1"})
    position = _SUB(job, bsvc("Position_Data"))
    if worker.business_title:
        _text(position, "Business_Title", worker.business_title)
    if worker.manager_id and manager_wid:
        _ref(position, "Manager_as_of_last_detected_manager_change_Reference",
             {"WID": manager_wid, "Employee_ID": worker.manager_id})
    if worker.worker_type:
        _ref(position, "Worker_Type_Reference", {"Employee_Type_ID": worker.worker_type})
    if worker.location:
        site = _SUB(position, bsvc("Business_Site_Summary_Data"))
        _text(site, "Name", worker.location)
    status = _SUB(employment, bsvc("Worker_Status_Data"))
    terminated = worker.terminated_on(effective_day)
    _text(status, "Active", "1" if worker.active_on(effective_day) else "0")
    _text(status, "Hire_Date", "not-a-date" if malformed else wd_date(worker.hire_date))
    _text(status, "Terminated", "1" if terminated else "0")
    if worker.termination_date is not None and terminated:
        _text(status, "Termination_Date", wd_date(worker.termination_date))
    if worker.cost_center:
        organizations = _SUB(_SUB(data, bsvc("Organization_Data")),
                             bsvc("Worker_Organization_Data"))
        organization = _SUB(organizations, bsvc("Organization_Data"))
        _text(organization, "Organization_Code", worker.cost_center)
        _ref(organization, "Organization_Type_Reference", {"Organization_Type_ID": "COST_CENTER"})
    if worker.user_name and not malformed:
        account = _SUB(data, bsvc("User_Account_Data"))
        _text(account, "User_Name", worker.user_name)


def fault_envelope(fault: WorkdayFault) -> bytes:
    """A SOAP 1.1 Fault the way Workday sends one (always HTTP 500)."""
    root, body = envelope()
    element = _SUB(body, env("Fault"))
    etree.SubElement(element, "faultcode").text = fault.faultcode
    etree.SubElement(element, "faultstring").text = fault.message
    if isinstance(fault, ValidationFault):
        detail = _SUB(_SUB(element, "detail"), bsvc("Validation_Fault"))
        for error in fault.errors:
            item = _SUB(detail, bsvc("Validation_Error"))
            _text(item, "Message", error.message)
            _text(item, "Detail_Message", error.detail_message)
            _text(item, "Xpath", error.xpath)
    elif isinstance(fault, ProcessingFault):
        detail = _SUB(_SUB(element, "detail"), bsvc("Processing_Fault"))
        _text(detail, "Detail_Message", fault.detail_message)
    return to_bytes(root)


def server_fault_envelope() -> bytes:
    root, body = envelope()
    element = _SUB(body, env("Fault"))
    etree.SubElement(element, "faultcode").text = "SOAP-ENV:Server"
    etree.SubElement(element, "faultstring").text = "An internal error occurred."
    return to_bytes(root)
