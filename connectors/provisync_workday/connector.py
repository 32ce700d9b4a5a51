"""The Workday connector: inbound worker reads and write-back of contact data and user names."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from lxml import etree

from provisync_sdk import (
    ConnectionTestResult,
    Connector,
    ConnectorContext,
    EntityKind,
    ReadPage,
    RunFailure,
    UnsupportedOperation,
    WriteBackOutcome,
    WriteBackRequest,
)
from provisync_workday.reader import WorkerReader, get_workers_request, parse_page
from provisync_workday.settings import WorkdaySettings
from provisync_workday.soap import SoapClient, SoapFault, request_element, sub
from provisync_workday.workers import (
    PrimaryContact,
    _p,
    primary_work_email,
    primary_work_phone,
)

_PHONE = re.compile(r"^\+(\d{1,4})[\s-]+(.+)$")


def split_phone(value: str) -> tuple[str | None, str]:
    """``"+1 555-0100"`` -> ``("1", "555-0100")``; no ``+code`` -> ``(None, value)``."""
    match = _PHONE.match(value.strip())
    return (match.group(1), match.group(2).strip()) if match else (None, value.strip())


def _usage(parent: etree._Element) -> None:
    type_data = sub(sub(parent, "Usage_Data", Public="true"), "Type_Data", Primary="true")
    sub(sub(type_data, "Type_Reference"), "ID", "WORK", type="Communication_Usage_Type_ID")


class WorkdayConnector(Connector[WorkdaySettings]):
    """One Workday tenant, reached through its Human_Resources SOAP service."""

    def __init__(self, settings: WorkdaySettings, context: ConnectorContext) -> None:
        super().__init__(settings, context)
        self._client = SoapClient(settings, settings.request_timeout)
        self._reader = WorkerReader(self._client, settings)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def test_connection(self) -> ConnectionTestResult:
        """One Get_Workers call for one worker."""
        request = get_workers_request(self.settings, 1, 1, None, None)
        try:
            content = await self._client.post_with_retries(request, retries=0, backoff=0)
            page = parse_page(content)
        except (RunFailure, SoapFault) as exc:
            return ConnectionTestResult(ok=False, message=str(exc))
        return ConnectionTestResult(
            ok=True,
            message=f"Connected to Workday tenant {self.settings.tenant}: {page.total} workers",
            details={"apiVersion": self.settings.api_version, "workers": str(page.total)},
        )

    def read(self, kind: EntityKind, watermark: str | None = None) -> AsyncIterator[ReadPage]:
        """Workers as users; a watermark (the previous read's moment) reads only changes."""
        if kind is not EntityKind.USER:
            raise UnsupportedOperation("Workday connections read users only")
        return self._reader.read(watermark)

    def write_back_attributes(self) -> frozenset[str]:
        """The directory is the authority for these; they are written back to Workday."""
        return frozenset(self.settings.write_back_attributes)

    async def write_back(self, requests: Sequence[WriteBackRequest]) -> Sequence[WriteBackOutcome]:
        """Write email and phone (Maintain Contact Information) and userName (account).

        Only attributes in ``write_back_attributes`` are written; a Workday fault becomes the
        user's reason. The current primary WORK email and phone are updated in place, so the
        worker's other addresses and numbers are kept.
        """
        allowed = set(self.settings.write_back_attributes)
        outcomes: list[WriteBackOutcome] = []
        for request in requests:
            attributes = {k: v for k, v in request.attributes.items() if k in allowed}
            problems: list[str] = []
            contact: dict[str, Any] = {
                k: v for k, v in attributes.items() if k in ("email", "phone")
            }
            if contact:
                try:
                    await self._write_contact(request.key, contact)
                except SoapFault as fault:
                    problems.append(f"email/phone not written: {fault.reason}")
            if "userName" in attributes:
                try:
                    await self._write_user_name(request.key, str(attributes["userName"] or ""))
                except SoapFault as fault:
                    problems.append(f"userName not written: {fault.reason}")
            outcomes.append(WriteBackOutcome(
                key=request.key, ok=not problems, reason="; ".join(problems) or None))
        return outcomes

    async def _current_contact(self, wid: str,
                               ) -> tuple[PrimaryContact | None, PrimaryContact | None]:
        request = request_element("Get_Workers_Request", self.settings.api_version)
        reference = sub(sub(request, "Request_References"), "Worker_Reference")
        sub(reference, "ID", wid, type="WID")
        group = sub(request, "Response_Group")
        sub(group, "Include_Reference", "true")
        sub(group, "Include_Personal_Information", "true")
        response = await self._client.call(request, retries=self.settings.max_retries,
                                           backoff=self.settings.retry_backoff)
        data = response.find(_p("Response_Data/Worker/Worker_Data"))
        return primary_work_email(data), primary_work_phone(data)

    async def _write_contact(self, wid: str, contact: dict[str, Any]) -> None:
        email_now, phone_now = await self._current_contact(wid)
        request = request_element(
            "Maintain_Contact_Information_for_Person_Event_Request", self.settings.api_version,
            Add_Only="false")
        parameters = sub(request, "Business_Process_Parameters")
        sub(parameters, "Auto_Complete", "true")
        sub(parameters, "Run_Now", "true")
        data = sub(request, "Maintain_Contact_Information_Data")
        sub(sub(data, "Worker_Reference"), "ID", wid, type="WID")
        info = sub(data, "Worker_Contact_Information_Data")
        if "email" in contact:
            self._email(info, contact["email"], email_now)
        if "phone" in contact:
            self._phone(info, contact["phone"], phone_now)
        if len(info):
            await self._client.call(request)

    @staticmethod
    def _email(info: etree._Element, value: Any, current: PrimaryContact | None) -> None:
        if not value:
            if current is not None and current.ref:
                item = sub(info, "Email_Address_Data", Delete="true", Do_Not_Replace_All="true")
                sub(sub(item, "Email_Reference"), "ID", current.ref, type="Email_ID")
            return
        item = sub(info, "Email_Address_Data", Do_Not_Replace_All="true")
        sub(item, "Email_Address", str(value))
        _usage(item)
        if current is not None and current.ref:
            sub(sub(item, "Email_Reference"), "ID", current.ref, type="Email_ID")

    def _phone(self, info: etree._Element, value: Any, current: PrimaryContact | None) -> None:
        if not value:
            if current is not None and current.ref:
                item = sub(info, "Phone_Data", Delete="true", Do_Not_Replace_All="true")
                sub(sub(item, "Phone_Reference"), "ID", current.ref, type="Phone_ID")
            return
        code, number = split_phone(str(value))
        item = sub(info, "Phone_Data", Do_Not_Replace_All="true")
        if code:
            sub(item, "International_Phone_Code", code)
        sub(item, "Phone_Number", number)
        if self.settings.phone_device_type:
            sub(sub(item, "Phone_Device_Type_Reference"), "ID", self.settings.phone_device_type,
                type="Phone_Device_Type_ID")
        _usage(item)
        if current is not None and current.ref:
            sub(sub(item, "Phone_Reference"), "ID", current.ref, type="Phone_ID")

    async def _write_user_name(self, wid: str, user_name: str) -> None:
        request = request_element("Workday_Account_for_Worker_Update_Request",
                                  self.settings.api_version)
        sub(sub(request, "Worker_Reference"), "ID", wid, type="WID")
        sub(sub(request, "Workday_Account_for_Worker_Data"), "User_Name", user_name)
        await self._client.call(request)


__all__ = ["WorkdayConnector", "split_phone"]
