"""Where provisync may send requests: connection URLs and webhook deliveries.

Every URL follows :func:`connectors.urls.check_target_url` (http(s), a host, no credentials,
no control characters, no odd numeric hosts, no link-local or metadata address). On top of
that, ``PROVISYNC_ALLOWED_TARGETS`` narrows where connections go: when the server sets an
allow-list of host names (``*.corp.example``) and CIDRs, each URL of a connection's settings
must name one of them (a CIDR matches a host written as an IP address; no DNS lookups from a
mutation). Webhook deliveries, which provisync sends on its own, are checked again after DNS
resolution before each delivery, since a name can change what it points at.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from pydantic import BaseModel

from connectors.urls import check_target_url, forbidden_address, host_allowed, url_host


class EgressRefused(ValueError):
    """A URL provisync must not call; the message says why (never echoing credentials)."""


def url_fields(model: BaseModel) -> dict[str, str]:
    """The URL-valued settings of a validated settings model (``base_url``, ``token_url``)."""
    return {
        name: value
        for name, value in vars(model).items()
        if name.endswith("url") and isinstance(value, str) and value
    }


def egress_problems(model: BaseModel, settings: Any) -> list[tuple[str, str]]:
    """(field, why) for each URL the allow-list does not cover; empty when there is none."""
    allowed = list(getattr(settings, "allowed_targets", None) or [])
    if not allowed:
        return []
    return [
        (name, f"host {url_host(value)!r} is not in PROVISYNC_ALLOWED_TARGETS")
        for name, value in url_fields(model).items()
        if not host_allowed(url_host(value), allowed)
    ]


def check_url(url: str) -> str:
    """The host of a URL provisync may call.

    :raises EgressRefused: the URL breaks a rule.
    """
    try:
        check_target_url(url.strip(), "the URL")
    except ValueError as exc:
        raise EgressRefused(str(exc)) from None
    return url_host(url.strip())


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
        try:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        except ValueError:
            continue
        if forbidden_address(address):
            raise EgressRefused(f"{host} resolves to a link-local or metadata address")


__all__ = ["EgressRefused", "check_resolved", "check_url", "egress_problems", "url_fields"]
