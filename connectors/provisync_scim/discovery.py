"""What the target supports, read once per connector instance from its discovery endpoints."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from provisync_scim.http import InvalidAnswer, ScimHttp
from provisync_scim.mapping import ENTERPRISE
from provisync_sdk import TargetAttribute


@dataclass(frozen=True, slots=True)
class TargetFeatures:
    """The parts of ``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` we use.

    :param served_config: the target answered ``/ServiceProviderConfig``.
    :param enterprise: the User resource type takes the enterprise extension (or we cannot tell).
    :param user_attributes: top-level User attributes of the served schemas (empty: unknown).
    :param extension_attributes: the attributes of the User's schema extensions (enterprise
        and custom) by full name (``urn:...:User:costCenter``), as mapping targets; empty
        when the target serves no ``/Schemas``.
    """

    served_config: bool = False
    patch: bool = False
    filter: bool = False
    filter_max_results: int | None = None
    bulk: bool = False
    bulk_max_operations: int | None = None
    etag: bool = False
    sort: bool = False
    enterprise: bool = True
    user_attributes: frozenset[str] = field(default_factory=frozenset)
    served: tuple[str, ...] = ()
    extension_attributes: tuple[TargetAttribute, ...] = ()

    @property
    def extension_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.extension_attributes)

    def as_details(self) -> dict[str, str]:
        """Plain strings for :class:`provisync_sdk.ConnectionTestResult` details."""
        details = {
            "patch": str(self.patch).lower(),
            "filter": str(self.filter).lower(),
            "bulk": str(self.bulk).lower(),
            "etag": str(self.etag).lower(),
            "sort": str(self.sort).lower(),
            "enterpriseUser": str(self.enterprise).lower(),
            "discovery": ", ".join(self.served) or "none",
        }
        if self.filter_max_results:
            details["filterMaxResults"] = str(self.filter_max_results)
        if self.bulk_max_operations:
            details["bulkMaxOperations"] = str(self.bulk_max_operations)
        return details


def _supported(config: dict[str, Any], name: str) -> bool:
    part = config.get(name)
    return bool(isinstance(part, dict) and part.get("supported"))


def _positive(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _resources(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        return [r for r in body["Resources"] if isinstance(r, dict)]
    if isinstance(body, list):  # some providers answer a bare list
        return [r for r in body if isinstance(r, dict)]
    return []


async def _get_json(http: ScimHttp, path: str) -> Any:
    """The endpoint's JSON; ``None`` when it is not served (any status but 200).

    :raises RunFailure: a 200 that is not JSON (an HTML page, a cut-off body): the run cannot
        know what the target supports, and guessing could write the wrong way.
    """
    response = await http.request("GET", path, label="discovery", expect="object")
    if response.status_code != 200:
        return None
    try:
        return http.document(response, expect="object")
    except InvalidAnswer as garbage:
        if response.content.lstrip().startswith(b"["):  # some providers answer a bare list
            try:
                return response.json()
            except ValueError:
                pass
        raise garbage.run_failure() from None


async def discover(http: ScimHttp) -> TargetFeatures:
    """Read the discovery endpoints; a target that serves none gets the safe defaults.

    The safe defaults are PUT rather than PATCH and paged listing rather than filters.
    """
    config, resource_types, schemas = await asyncio.gather(
        _get_json(http, "/ServiceProviderConfig"),
        _get_json(http, "/ResourceTypes"),
        _get_json(http, "/Schemas"),
    )
    served = tuple(
        name
        for name, body in (
            ("ServiceProviderConfig", config),
            ("ResourceTypes", resource_types),
            ("Schemas", schemas),
        )
        if body is not None
    )
    config = config if isinstance(config, dict) else {}
    enterprise = True
    user_types = [
        rt
        for rt in _resources(resource_types)
        if rt.get("name") == "User" or rt.get("id") == "User"
    ]
    extension_ids: set[str] = set()
    if user_types:
        extensions = user_types[0].get("schemaExtensions") or []
        extension_ids = {str(e.get("schema")) for e in extensions if isinstance(e, dict)}
        enterprise = ENTERPRISE in extension_ids
    attributes: set[str] = set()
    extension_attributes: list[TargetAttribute] = []
    for schema in _resources(schemas):
        declared = [a for a in schema.get("attributes") or [] if isinstance(a, dict)]
        if schema.get("id") == "urn:ietf:params:scim:schemas:core:2.0:User":
            attributes.update(str(a.get("name")) for a in declared)
        elif schema.get("id") in extension_ids:
            extension_attributes += [
                TargetAttribute(
                    name=f"{schema['id']}:{a.get('name')}",
                    type=str(a.get("type") or "string"),
                    multi_valued=bool(a.get("multiValued")),
                    description=str(a.get("description") or "")[:200],
                )
                for a in declared
                if a.get("name") and a.get("mutability") != "readOnly"
            ]
    filter_part = config.get("filter") if isinstance(config.get("filter"), dict) else {}
    bulk_part = config.get("bulk") if isinstance(config.get("bulk"), dict) else {}
    return TargetFeatures(
        served_config=bool(config),
        patch=_supported(config, "patch"),
        filter=_supported(config, "filter"),
        filter_max_results=_positive((filter_part or {}).get("maxResults")),
        bulk=_supported(config, "bulk"),
        bulk_max_operations=_positive((bulk_part or {}).get("maxOperations")),
        etag=_supported(config, "etag"),
        sort=_supported(config, "sort"),
        enterprise=enterprise,
        user_attributes=frozenset(attributes),
        served=served,
        extension_attributes=tuple(extension_attributes),
    )
