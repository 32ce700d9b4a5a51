"""Where connections may send requests: ``PROVISYNC_ALLOWED_TARGETS`` narrows it.

Every settings model refuses link-local and metadata addresses itself (see
:mod:`connectors.urls`). When the server sets an allow-list of host names (``*.corp.example``)
and CIDRs, each URL of a connection's settings must name one of them: a CIDR matches a host
written as an IP address; a name must be listed by name (no DNS lookups from a mutation).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from connectors.urls import host_allowed, url_host


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


__all__ = ["egress_problems", "url_fields"]
