"""Connection URLs checked the same way in every settings model: http(s), a host, nothing
hidden in them, and no address a connection has no business reaching.

Refused always: credentials in the URL (they would show in settings), CR, LF, spaces and
other control characters, IP addresses written in odd forms (``0x7f000001``, ``2130706433``,
``0177.0.0.1``) that parsers disagree on, and link-local or cloud-metadata addresses
(169.254.0.0/16, fe80::/10, fd00:ec2::/32, ``metadata.google.internal``). Hosts may be
narrowed further by the server (``PROVISYNC_ALLOWED_TARGETS``), see :func:`host_allowed`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::/32", "0.0.0.0/32", "::/128")
)
FORBIDDEN_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
MAX_URL = 2048
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.I)
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$", re.I)


def forbidden_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is link-local or a cloud metadata address (IPv4-mapped too)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return any(
        address in network for network in FORBIDDEN_NETWORKS if network.version == address.version
    )


def url_host(value: str) -> str:
    """The host of an http(s) URL (lower case, IPv6 without brackets)."""
    return (urlsplit(value).hostname or "").lower()


def check_target_url(value: object, field: str = "URL") -> str:
    """``value`` when it is an acceptable connection URL (stripped of a trailing slash).

    :raises ValueError: with a message saying what is wrong (never echoing a credential).
    """
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string")
    if len(value) > MAX_URL:
        raise ValueError(f"{field} must be at most {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{field} must not contain spaces, line breaks or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{field} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{field} must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"{field} must not hold credentials; use the connection's secrets")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"{field} must name a host")
    if port == 0:
        raise ValueError(f"{field} has an invalid port")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None:
        labels = host.rstrip(".").split(".")
        numeric = all(_NUMERIC_LABEL.match(label) for label in labels)
        if numeric or not _HOST_NAME.match(host):  # 0x7f000001, 2130706433, 127.1, 0177.0.0.1
            raise ValueError(f"{field} names its host in a form that is not allowed")
        if host.rstrip(".") in FORBIDDEN_NAMES:
            raise ValueError(f"{field} names a cloud metadata service")
    elif forbidden_address(address):
        raise ValueError(f"{field} names a link-local or metadata address")
    return value.rstrip("/")


def host_allowed(host: str, allowed: Iterable[str], addresses: Iterable[str] = ()) -> bool:
    """Whether ``host`` is in an allow-list of names (``*.corp.example``) and CIDRs.

    :param addresses: what ``host`` resolves to, for CIDR entries when it is a name.
    """
    host = host.lower().strip("[]").rstrip(".")
    try:
        candidates = [ipaddress.ip_address(host)]
    except ValueError:
        candidates = []
        for address in addresses:
            try:
                candidates.append(ipaddress.ip_address(address))
            except ValueError:
                continue
    for entry in (e.strip().lower() for e in allowed if e.strip()):
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
        if entry == host:
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if candidates and all(c.version == network.version and c in network for c in candidates):
            return True
    return False


__all__ = ["FORBIDDEN_NETWORKS", "check_target_url", "host_allowed", "url_host"]
