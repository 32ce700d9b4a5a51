"""XML namespaces of Workday Web Services, shared by the connector and the simulator."""

from __future__ import annotations

BSVC = "urn:com.workday/bsvc"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)


def bsvc(local: str) -> str:
    """The Clark name ``{urn:com.workday/bsvc}local``."""
    return f"{{{BSVC}}}{local}"


def env(local: str) -> str:
    """The Clark name of a SOAP 1.1 envelope element."""
    return f"{{{SOAP_ENV}}}{local}"
