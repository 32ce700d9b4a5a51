"""The Workday simulator's Starlette app: the Human_Resources SOAP endpoint of one tenant."""

from __future__ import annotations

import asyncio

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from provisync_workday.simulator.get_workers import get_workers, has_references, page_of
from provisync_workday.simulator.model import (
    AuthenticationFault,
    Email,
    Phone,
    ValidationError,
    ValidationFault,
    WorkdayFault,
)
from provisync_workday.simulator.render import envelope, fault_envelope, server_fault_envelope
from provisync_workday.simulator.render import to_bytes as _to_bytes
from provisync_workday.simulator.tenant import SimulatedTenant
from provisync_workday.simulator.writeback import ContactEntry
from provisync_workday.xmlns import BSVC, PASSWORD_TEXT, SOAP_ENV, WSSE, bsvc

_NS = {"bsvc": BSVC, "env": SOAP_ENV, "wsse": WSSE}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_XML = "text/xml; charset=utf-8"


def _xml(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=_XML)


def _fault(fault: WorkdayFault) -> Response:
    return _xml(fault_envelope(fault), 500)


def _check_credentials(tenant: SimulatedTenant, root: etree._Element) -> None:
    token = root.find("env:Header/wsse:Security/wsse:UsernameToken", _NS)
    if token is None:
        raise AuthenticationFault()
    username = token.findtext("wsse:Username", "", _NS).strip()
    password = token.find("wsse:Password", _NS)
    if password is None or password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        raise AuthenticationFault()
    user, _, tenant_name = username.partition("@")
    if tenant_name != tenant.name or tenant.credentials.get(user) != (password.text or ""):
        raise AuthenticationFault()


def _flag(element: etree._Element, name: str) -> bool:
    return (element.get(bsvc(name)) or "").lower() in ("1", "true")


def _usage(element: etree._Element) -> tuple[str, bool]:
    type_data = element.find("bsvc:Usage_Data/bsvc:Type_Data", _NS)
    if type_data is None:
        return "WORK", False
    usage = type_data.findtext("bsvc:Type_Reference/bsvc:ID", "WORK", _NS).strip()
    return usage, _flag(type_data, "Primary")


def _wid(request: etree._Element, path: str) -> str:
    return request.findtext(path, "", _NS).strip()


def _maintain_contact(
    tenant: SimulatedTenant, request: etree._Element, body: etree._Element
) -> None:
    xpath = "/bsvc:Maintain_Contact_Information_for_Person_Event_Request[1]"
    xpath += "/bsvc:Maintain_Contact_Information_Data[1]"
    data = request.find("bsvc:Maintain_Contact_Information_Data", _NS)
    if data is None:
        message = "Maintain_Contact_Information_Data is required."
        raise ValidationFault([ValidationError(message, message, xpath)])
    wid = _wid(data, "bsvc:Worker_Reference/bsvc:ID")
    contact_xpath = xpath + "/bsvc:Worker_Contact_Information_Data[1]"
    emails: list[ContactEntry[Email]] = []
    phones: list[ContactEntry[Phone]] = []
    contact = data.find("bsvc:Worker_Contact_Information_Data", _NS)
    for index, item in enumerate(contact.findall("bsvc:Email_Address_Data", _NS)
                                 if contact is not None else [], 1):
        usage, primary = _usage(item)
        email = Email(item.findtext("bsvc:Email_Address", "", _NS).strip(), usage, primary,
                      item.findtext("bsvc:Email_Reference/bsvc:ID", "", _NS).strip())
        emails.append(ContactEntry(email, _flag(item, "Delete"),
                                   _flag(item, "Do_Not_Replace_All"),
                                   f"{contact_xpath}/bsvc:Email_Address_Data[{index}]"))
    for index, item in enumerate(contact.findall("bsvc:Phone_Data", _NS)
                                 if contact is not None else [], 1):
        usage, primary = _usage(item)
        phone = Phone(
            number=item.findtext("bsvc:Phone_Number", "", _NS).strip(),
            country_code=item.findtext("bsvc:International_Phone_Code", "", _NS).strip() or None,
            device_type=item.findtext("bsvc:Phone_Device_Type_Reference/bsvc:ID", "",
                                      _NS).strip() or None,
            usage=usage, primary=primary,
            ref=item.findtext("bsvc:Phone_Reference/bsvc:ID", "", _NS).strip(),
        )
        phones.append(ContactEntry(phone, _flag(item, "Delete"), _flag(item, "Do_Not_Replace_All"),
                                   f"{contact_xpath}/bsvc:Phone_Data[{index}]"))
    event = tenant.maintain_contact_information(
        wid, emails, phones, add_only=_flag(request, "Add_Only"),
        xpath=xpath + "/bsvc:Worker_Reference[1]/bsvc:ID[1]",
    )
    tag = bsvc("Maintain_Contact_Information_for_Person_Event_Response")
    response = etree.SubElement(body, tag, {bsvc("version"): request.get(bsvc("version"), "")})
    reference = etree.SubElement(response, bsvc("Event_Reference"))
    etree.SubElement(reference, bsvc("ID"), {bsvc("type"): "WID"}).text = event
    person = etree.SubElement(response, bsvc("Person_Reference"))
    etree.SubElement(person, bsvc("ID"), {bsvc("type"): "WID"}).text = wid


def _update_account(tenant: SimulatedTenant, request: etree._Element, body: etree._Element) -> None:
    xpath = "/bsvc:Workday_Account_for_Worker_Update_Request[1]"
    wid = _wid(request, "bsvc:Worker_Reference/bsvc:ID")
    user_name = request.findtext("bsvc:Workday_Account_for_Worker_Data/bsvc:User_Name", "", _NS)
    tenant.update_account(wid, user_name, xpath=xpath)
    etree.SubElement(body, bsvc("Workday_Account_for_Worker_Update_Response"),
                     {bsvc("version"): request.get(bsvc("version"), "")})


_OPERATIONS = {
    "Maintain_Contact_Information_for_Person_Event_Request": _maintain_contact,
    "Workday_Account_for_Worker_Update_Request": _update_account,
}


def build_simulator_app(tenant: SimulatedTenant) -> Starlette:
    """The SOAP endpoint ``POST /ccx/service/{tenant}/Human_Resources/v{version}``.

    :param tenant: the in-memory tenant answered from (tests keep a handle to change it).
    """

    async def human_resources(request: Request) -> Response:
        name = request.path_params["tenant"]
        version = request.path_params["version"]
        if name != tenant.name or not version.startswith("v"):
            return Response("Not Found", status_code=404, media_type="text/plain")
        try:
            root = etree.fromstring(await request.body(), _PARSER)
        except etree.XMLSyntaxError as exc:
            return _fault(WorkdayFault(f"Invalid request: {exc}"))
        try:
            _check_credentials(tenant, root)
            operation = root.find("env:Body/*", _NS)
            if operation is None or etree.QName(operation).namespace != BSVC:
                raise WorkdayFault("Invalid request: no Workday operation in the SOAP Body.")
            if not operation.get(bsvc("version")):
                message = "The version attribute is required on the request element."
                raise ValidationFault([ValidationError(message, message, "/")])
            local = etree.QName(operation).localname
            out, body = envelope()
            if local == "Get_Workers_Request":
                if not has_references(operation):
                    page = page_of(operation)
                    delay = tenant.faults.page_delay + tenant.faults.slow_pages.get(page, 0.0)
                    if delay:
                        await asyncio.sleep(delay)
                    if tenant.faults.take_failure(page):
                        return _xml(server_fault_envelope(), 500)
                get_workers(tenant, operation, body)
            elif local in _OPERATIONS:
                _OPERATIONS[local](tenant, operation, body)
            else:
                raise WorkdayFault(f"Invalid request: unknown operation {local}.")
        except WorkdayFault as fault:
            return _fault(fault)
        return _xml(_to_bytes(out))

    return Starlette(routes=[
        Route("/ccx/service/{tenant}/Human_Resources/{version}", human_resources,
              methods=["POST"]),
    ])
