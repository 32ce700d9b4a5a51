"""SOAP over HTTP to Workday: envelopes with WS-Security, faults turned into errors."""

from __future__ import annotations

import asyncio
import logging

import httpx2
from lxml import etree

from provisync_sdk import AuthenticationFailed, RunFailure, TargetUnreachable
from provisync_workday.settings import WorkdaySettings
from provisync_workday.xmlns import BSVC, PASSWORD_TEXT, SOAP_ENV, WSSE, bsvc, env

log = logging.getLogger(__name__)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_NS = {"bsvc": BSVC, "env": SOAP_ENV}


class SoapFault(Exception):
    """A Workday business fault (validation or processing): one entity's problem.

    :param reason: Workday's messages, for people.
    """

    def __init__(self, faultcode: str, reason: str) -> None:
        super().__init__(reason)
        self.faultcode = faultcode
        self.reason = reason


class TransientError(Exception):
    """A failure worth retrying (5xx without a business fault, a transport error)."""


def request_element(operation: str, version: str, **attributes: str) -> etree._Element:
    """A ``bsvc:`` request element carrying the ``bsvc:version`` attribute."""
    element = etree.Element(bsvc(operation), nsmap={"bsvc": BSVC})
    element.set(bsvc("version"), version)
    for name, value in attributes.items():
        element.set(bsvc(name), value)
    return element


def sub(parent: etree._Element, local: str, text: str | None = None,
        **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, bsvc(local), {bsvc(k): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def envelope(settings: WorkdaySettings, operation: etree._Element) -> bytes:
    """The SOAP 1.1 envelope with a WS-Security UsernameToken (PasswordText)."""
    root = etree.Element(env("Envelope"), nsmap={"soapenv": SOAP_ENV, "wsse": WSSE})
    security = etree.SubElement(etree.SubElement(root, env("Header")), f"{{{WSSE}}}Security")
    security.set(env("mustUnderstand"), "1")
    token = etree.SubElement(security, f"{{{WSSE}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE}}}Username").text = settings.principal
    password = etree.SubElement(token, f"{{{WSSE}}}Password", Type=PASSWORD_TEXT)
    password.text = settings.password.get_secret_value()
    etree.SubElement(root, env("Body")).append(operation)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fault_reason(fault: etree._Element) -> str:
    """Workday's messages from a ``Fault``: each validation error with its detail and xpath."""
    parts: list[str] = []
    for error in fault.iterfind("detail/bsvc:Validation_Fault/bsvc:Validation_Error", _NS):
        message = error.findtext("bsvc:Message", "", _NS).strip()
        detail = error.findtext("bsvc:Detail_Message", "", _NS).strip()
        xpath = error.findtext("bsvc:Xpath", "", _NS).strip()
        text = message if not detail or detail == message else f"{message} ({detail})"
        parts.append(f"{text} [at {xpath}]" if xpath else text)
    if parts:
        return "Workday validation error: " + "; ".join(parts)
    processing = fault.find("detail/bsvc:Processing_Fault", _NS)
    faultstring = (fault.findtext("faultstring") or "").strip()
    if processing is not None:
        detail = processing.findtext("bsvc:Detail_Message", "", _NS).strip()
        return "Workday processing fault: " + " ".join(p for p in (faultstring, detail) if p)
    return f"Workday fault: {faultstring or 'no message'}"


class SoapClient:
    """Posts Human_Resources requests over one pooled HTTP client."""

    def __init__(self, settings: WorkdaySettings, timeout: float) -> None:
        self.settings = settings
        self._http = httpx2.AsyncClient(timeout=timeout, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post_raw(self, operation: etree._Element) -> bytes:
        """One attempt: the response body of a successful call.

        :raises AuthenticationFailed: credentials rejected.
        :raises SoapFault: a validation or processing fault.
        :raises TransientError: a server fault, a 5xx or a transport failure.
        :raises RunFailure: any other answer (404, 4xx).
        """
        try:
            response = await self._http.post(self.settings.endpoint,
                                             content=envelope(self.settings, operation))
        except httpx2.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 200:
            return response.content
        if response.status_code in (401, 403):
            raise AuthenticationFailed(f"Workday answered HTTP {response.status_code}")
        fault = self._fault(response.content)
        if fault is not None:
            code = (fault.findtext("faultcode") or "").strip()
            if code.endswith("authenticationError"):
                raise AuthenticationFailed(
                    f"Workday rejected the credentials of {self.settings.principal}: "
                    f"{(fault.findtext('faultstring') or '').strip()}"
                )
            if code.startswith("SOAP-ENV:Client") or ".Client" in code or code == "Client":
                raise SoapFault(code, fault_reason(fault))
        if response.status_code >= 500:
            raise TransientError(f"Workday answered HTTP {response.status_code}")
        if response.status_code == 404:
            raise TargetUnreachable(f"no Workday service at {self.settings.endpoint} (HTTP 404)")
        raise RunFailure(f"Workday answered HTTP {response.status_code}")

    @staticmethod
    def _fault(content: bytes) -> etree._Element | None:
        try:
            root = etree.fromstring(content, _PARSER)
        except etree.XMLSyntaxError:
            return None
        return root.find("env:Body/env:Fault", _NS)

    async def call(self, operation: etree._Element, *, retries: int = 0,
                   backoff: float = 0.5) -> etree._Element:
        """Post with up to ``retries`` retries of transient failures; the response element.

        :raises TargetUnreachable: still failing after the retries.
        """
        content = await self.post_with_retries(operation, retries=retries, backoff=backoff)
        return parse_body(content)

    async def post_with_retries(self, operation: etree._Element, *, retries: int,
                                backoff: float) -> bytes:
        attempt = 0
        while True:
            try:
                return await self.post_raw(operation)
            except TransientError as exc:
                if attempt >= retries:
                    raise TargetUnreachable(
                        f"Workday failed {attempt + 1} time(s) in a row: {exc}") from exc
                delay = backoff * (2**attempt)
                log.warning("Workday call failed (%s); retry %d in %.1fs", exc, attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)


def parse_body(content: bytes) -> etree._Element:
    """The operation response inside a SOAP envelope."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise TargetUnreachable(f"Workday answered something that is not XML: {exc}") from exc
    body = root.find("env:Body", _NS)
    if body is None or len(body) == 0:
        raise TargetUnreachable("Workday answered a SOAP envelope without a body")
    return body[0]
