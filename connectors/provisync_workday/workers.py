"""Turn Get_Workers ``wd:Worker`` elements into canonical user records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any, NamedTuple

from lxml import etree

from provisync_sdk import EntityKind, EntityOutcome, EntityState, UserRecord
from provisync_workday.xmlns import BSVC


def _p(path: str) -> str:
    """``A/B`` in Clark notation (find paths are compiled once here)."""
    return "/".join(f"{{{BSVC}}}{part}" for part in path.split("/"))


_TYPE = f"{{{BSVC}}}type"
_REF_IDS = _p("Worker_Reference/ID")
_DATA = _p("Worker_Data")
_LEGAL = _p("Personal_Data/Name_Data/Legal_Name_Data/Name_Detail_Data")
_PREFERRED = _p("Personal_Data/Name_Data/Preferred_Name_Data/Name_Detail_Data")
_FIRST, _LAST = _p("First_Name"), _p("Last_Name")
_EMAILS = _p("Personal_Data/Contact_Data/Email_Address_Data")
_PHONES = _p("Personal_Data/Contact_Data/Phone_Data")
_EMAIL_ADDRESS, _EMAIL_REF = _p("Email_Address"), _p("Email_Reference/ID")
_PHONE_CC, _PHONE_NUMBER = _p("International_Phone_Code"), _p("Phone_Number")
_PHONE_REF = _p("Phone_Reference/ID")
_POSITION = _p("Employment_Data/Worker_Job_Data/Position_Data")
_TITLE = _p("Business_Title")
_MANAGER_IDS = _p("Manager_as_of_last_detected_manager_change_Reference/ID")
_STATUS = _p("Employment_Data/Worker_Status_Data")
_TERMINATED, _HIRE, _TERMINATION = _p("Terminated"), _p("Hire_Date"), _p("Termination_Date")
_USER_NAME, _USER_ID = _p("User_Account_Data/User_Name"), _p("User_ID")
_DESCRIPTOR = _p("Worker_Descriptor")
_WORKER_ID = _p("Worker_ID")


class MalformedWorker(ValueError):
    """A worker element the connector cannot turn into a record."""


class PrimaryContact(NamedTuple):
    """A worker's primary WORK item: its value and Workday reference id."""

    value: str
    ref: str | None


# A page holds hundreds of workers and each is read through some twenty paths: compiled XPath
# (libxml2) does that about twice as fast as ElementPath's find/findtext.
_NS = {"wd": BSVC}
_PRIMARY_WORK = (
    "[wd:Usage_Data/wd:Type_Data[(@wd:Primary='1' or @wd:Primary='true')"
    " and normalize-space(wd:Type_Reference/wd:ID)='WORK']]"
)


def _xpath(clark: str) -> str:
    """A ``{ns}A/{ns}B`` path as the prefixed XPath ``wd:A/wd:B``."""
    return "/".join("wd:" + local for local in re.findall(r"\{[^}]*\}([^/{]+)", clark))


@cache
def _string_of(path: str) -> etree.XPath:
    return etree.XPath(f"string({_xpath(path)})", namespaces=_NS, smart_strings=False)


@cache
def _nodes_of(path: str) -> etree.XPath:
    return etree.XPath(_xpath(path), namespaces=_NS)


@cache
def _first_of(path: str) -> etree.XPath:
    return etree.XPath(f"({_xpath(path)})[1]", namespaces=_NS)


def _first(element: etree._Element, path: str) -> etree._Element | None:
    found: list[etree._Element] = _first_of(path)(element)  # type: ignore[assignment]
    return found[0] if found else None


@cache
def _primary_work_of(path: str) -> etree.XPath:
    return etree.XPath(f"({_xpath(path)}{_PRIMARY_WORK})[1]", namespaces=_NS)


def _text(element: etree._Element | None, path: str) -> str | None:
    """The stripped text of the first element at ``path``, or None when missing or blank."""
    if element is None:
        return None
    return str(_string_of(path)(element)).strip() or None


def _ids(element: etree._Element | None, path: str) -> dict[str, str]:
    if element is None:
        return {}
    nodes: list[etree._Element] = _nodes_of(path)(element)  # type: ignore[assignment]
    return {i.get(_TYPE, ""): (i.text or "").strip() for i in nodes}


def _primary_work(data: etree._Element | None, path: str) -> etree._Element | None:
    """The first item at ``path`` whose usage is WORK and marked primary."""
    if data is None:
        return None
    found: list[etree._Element] = _primary_work_of(path)(data)  # type: ignore[assignment]
    return found[0] if found else None


def primary_work_email(data: etree._Element | None) -> PrimaryContact | None:
    item = _primary_work(data, _EMAILS)
    if item is None:
        return None
    return PrimaryContact(_text(item, _EMAIL_ADDRESS) or "", _text(item, _EMAIL_REF))


def primary_work_phone(data: etree._Element | None) -> PrimaryContact | None:
    item = _primary_work(data, _PHONES)
    if item is None:
        return None
    number = _text(item, _PHONE_NUMBER) or ""
    code = _text(item, _PHONE_CC)
    return PrimaryContact(f"+{code} {number}" if code else number, _text(item, _PHONE_REF))


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise MalformedWorker(f"{what} {value!r} is not a date") from None


class WorkerFields(NamedTuple):
    """The values a worker's record is made of, as read from its ``wd:Worker`` element.

    Texts are stripped, ``None`` when missing or blank. An id is the last of its type in its
    reference, stripped, ``None`` when the reference has none of that type. Read one worker
    with :func:`fields_of`, or a whole page at once with
    :func:`provisync_workday.page_fields.page_fields`: both give the same values. A named
    tuple, not a frozen dataclass: a page builds hundreds, and a tuple is built in one step.
    """

    wid: str | None
    employee_id: str | None
    has_data: bool
    user_name: str | None
    user_id: str | None
    legal_first: str | None
    legal_last: str | None
    preferred_first: str | None
    preferred_last: str | None
    hire: str | None
    terminated: str | None
    termination: str | None
    title: str | None
    manager_employee_id: str | None
    email: PrimaryContact | None
    phone: PrimaryContact | None
    descriptor: str | None
    worker_id: str | None

    @property
    def key(self) -> str | None:
        """The worker's WID, or its Employee_ID when the WID is missing."""
        return self.wid or self.employee_id or None


def fields_of(worker: etree._Element) -> WorkerFields:
    """The fields of one ``wd:Worker`` element (compiled XPath)."""
    ids = _ids(worker, _REF_IDS)
    data = _first(worker, _DATA)
    legal = _first(data, _LEGAL) if data is not None else None
    preferred = _first(data, _PREFERRED) if data is not None else None
    status = _first(data, _STATUS) if data is not None else None
    position = _first(data, _POSITION) if data is not None else None
    return WorkerFields(
        wid=ids.get("WID"),
        employee_id=ids.get("Employee_ID"),
        has_data=data is not None,
        user_name=_text(data, _USER_NAME),
        user_id=_text(data, _USER_ID),
        legal_first=_text(legal, _FIRST),
        legal_last=_text(legal, _LAST),
        preferred_first=_text(preferred, _FIRST),
        preferred_last=_text(preferred, _LAST),
        hire=_text(status, _HIRE),
        terminated=_text(status, _TERMINATED),
        termination=_text(status, _TERMINATION),
        title=_text(position, _TITLE),
        manager_employee_id=_ids(position, _MANAGER_IDS).get("Employee_ID"),
        email=primary_work_email(data),
        phone=primary_work_phone(data),
        descriptor=_text(worker, _DESCRIPTOR),
        worker_id=_text(data, _WORKER_ID),
    )


def worker_key(worker: etree._Element) -> str | None:
    """The worker's WID, or its Employee_ID when the WID is missing."""
    ids = _ids(worker, _REF_IDS)
    return ids.get("WID") or ids.get("Employee_ID") or None


def worker_to_record(worker: etree._Element, today: date) -> UserRecord:
    """Map one worker as of ``today`` (the read's effective day).

    :raises MalformedWorker: no WID, no account user name, an unreadable date.
    """
    return record_of(fields_of(worker), today)


def record_of(
    fields: WorkerFields, today: date, extensions: Mapping[str, Any] | None = None
) -> UserRecord:
    """Map one worker's fields as of ``today`` (the read's effective day).

    :param extensions: the worker's extension fields (see
        :mod:`provisync_workday.extension_fields`), reported as extension attributes.

    :raises MalformedWorker: no WID, no account user name, an unreadable date.
    """
    wid = fields.wid
    if not wid:
        raise MalformedWorker("the worker has no WID in Worker_Reference")
    if not fields.has_data:
        raise MalformedWorker("the worker has no Worker_Data")
    user_name = fields.user_name or fields.user_id
    if not user_name:
        raise MalformedWorker("the worker has no Workday account user name")
    given = fields.preferred_first or fields.legal_first
    family = fields.preferred_last or fields.legal_last
    hire_date = _date(fields.hire, "Hire_Date")
    terminated = fields.terminated in ("1", "true")
    termination_date = _date(fields.termination, "Termination_Date")
    if termination_date is not None and termination_date <= today:
        terminated = True
    future_hire = hire_date is not None and hire_date > today
    email, phone = fields.email, fields.phone
    display = " ".join(p for p in (given, family) if p) or fields.descriptor
    attributes = {
        "userName": user_name,
        "givenName": given,
        "familyName": family,
        "displayName": display,
        "email": email.value if email else None,
        "phone": phone.value if phone else None,
        "title": fields.title,
        "employeeId": fields.employee_id or fields.worker_id,
        "manager": fields.manager_employee_id,
        "active": not terminated and not future_hire,
    }
    return UserRecord(
        key=wid,
        attributes=attributes,
        effective_from=hire_date.isoformat() if future_hire and hire_date else None,
        extension_attributes=dict(extensions) if extensions else {},
    )


def worker_failure(worker: etree._Element, position: str, reason: str) -> EntityOutcome:
    """A FAILED outcome for a worker that could not be read."""
    return failure_of(worker_key(worker), position, reason)


def failure_of(key: str | None, position: str, reason: str) -> EntityOutcome:
    """A FAILED outcome for a worker (by its key, if it has one) that could not be read."""
    return EntityOutcome(
        kind=EntityKind.USER,
        key=key or position,
        state=EntityState.FAILED,
        reason=f"Workday worker could not be read: {reason}",
    )
