"""More of the worker record, read into the directory users' extension attributes.

A connection names the fields it wants (``extension_fields``: attribute name to a field of
the worker). A field is one of :data:`PRESETS` (``location``, ``costCenter``, ``hireDate``,
``workerType``, ``managerId``) or an XPath relative to ``wd:Worker_Data`` with the ``wd:``
prefix, e.g. ``wd:Personal_Data/wd:Personal_Information_Data/wd:Gender_Reference/wd:ID``.
Every named field is reported, ``None`` when the worker has none (the user's attribute is
then removed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from provisync_workday.xmlns import BSVC

_POSITION = "wd:Employment_Data/wd:Worker_Job_Data/wd:Position_Data"
PRESETS: dict[str, str] = {
    "location": f"{_POSITION}/wd:Business_Site_Summary_Data/wd:Name",
    "costCenter": (
        "wd:Organization_Data/wd:Worker_Organization_Data/wd:Organization_Data"
        "[wd:Organization_Type_Reference/wd:ID='COST_CENTER']/wd:Organization_Code"
    ),
    "hireDate": "wd:Employment_Data/wd:Worker_Status_Data/wd:Hire_Date",
    "workerType": f"{_POSITION}/wd:Worker_Type_Reference/wd:ID[@wd:type='Employee_Type_ID']",
    "managerId": (
        f"{_POSITION}/wd:Manager_as_of_last_detected_manager_change_Reference"
        "/wd:ID[@wd:type='Employee_ID']"
    ),
}
"""Named worker fields (XPath relative to ``wd:Worker_Data``)."""
DATES = frozenset({"hireDate"})
"""Presets that are dates: reported as ISO dates (Workday writes ``2021-03-04Z``)."""
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_NS = {"wd": BSVC}
_WORKERS = etree.XPath("//wd:Response_Data/wd:Worker", namespaces=_NS)


def path_of(field: str) -> str:
    """The XPath of a preset or of an XPath given as is."""
    return PRESETS.get(field, field)


def check(fields: Mapping[str, str]) -> dict[str, str]:
    """Validate ``extension_fields`` (a pydantic validator calls this).

    :raises ValueError: a bad attribute name or an XPath that does not compile.
    """
    for name, field in fields.items():
        if not NAME.match(name):
            raise ValueError(
                f"extension attribute name {name!r}: a letter, then letters, digits and _"
            )
        try:
            etree.XPath(f"string(wd:Worker_Data/{path_of(field)})", namespaces=_NS)
        except etree.XPathError as exc:
            message = f"extension field {name!r}: {field!r} is not an XPath: {exc}"
            raise ValueError(message) from None
    return dict(fields)


class ExtensionReader:
    """Reads a connection's extension fields from every worker of a Get_Workers response."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.paths = {
            name: etree.XPath(
                f"normalize-space((wd:Worker_Data)[1]/{path_of(field)})",
                namespaces=_NS,
                smart_strings=False,
            )
            for name, field in fields.items()
        }
        self.dates = frozenset(name for name, field in fields.items() if field in DATES)

    def __bool__(self) -> bool:
        return bool(self.paths)

    def page(self, response: etree._Element) -> list[dict[str, Any]]:
        """One mapping per ``Response_Data/Worker``, in document order."""
        return [
            {name: self._value(name, path(worker)) for name, path in self.paths.items()}
            for worker in _WORKERS(response)
        ]

    def _value(self, name: str, text: str) -> str | None:
        if not text:
            return None
        if name in self.dates and _ISO_DATE.match(text):
            return text[:10]
        return text
