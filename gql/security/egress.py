"""Egress rules for URLs provisync calls on its own (webhook deliveries).

A URL must be http(s) with a host and no credentials in it, and must not reach link-local or
cloud metadata addresses (169.254.0.0/16, fd00:ec2::/32, fe80::/10), named directly or through
DNS. Checked when a subscription is saved and again before each delivery (DNS can change).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fd00:ec2::/32", "fe80::/10")
)


class EgressRefused(ValueError):
    """A URL provisync must not call; the message says why (never echoing credentials)."""


def _refused_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in REFUSED_NETWORKS)


def check_url(url: str) -> str:
    """The host of an allowed URL.

    :raises EgressRefused: the URL breaks a rule.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise EgressRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise EgressRefused("the URL must start with http:// or https://")
    if not host:
        raise EgressRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise EgressRefused("the URL must not hold credentials (user:password@)")
    if _refused_address(host):
        raise EgressRefused(f"{host} is a link-local or metadata address")
    return host


async def check_resolved(url: str) -> None:
    """:func:`check_url`, and every address the host resolves to must be allowed too.

    :raises EgressRefused: a rule is broken (an unresolvable host is left to the HTTP client).
    """
    host = check_url(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return
    for info in infos:
        if _refused_address(str(info[4][0])):
            raise EgressRefused(f"{host} resolves to a link-local or metadata address")
