"""The simulated tenant's data: workers as entered snapshots, and Workday-shaped faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Email:
    """One email address of a worker; ``ref`` is its Email_ID."""

    address: str
    usage: str = "WORK"
    primary: bool = True
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Phone:
    """One phone of a worker; Workday requires a country code and a device type."""

    number: str
    country_code: str | None = "1"
    device_type: str | None = "Landline"
    usage: str = "WORK"
    primary: bool = True
    ref: str = ""


@dataclass(frozen=True, slots=True)
class WorkerData:
    """A worker as entered at one moment (one snapshot of its history)."""

    wid: str
    employee_id: str
    legal_first: str
    legal_last: str
    hire_date: date
    preferred_first: str | None = None
    preferred_last: str | None = None
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    business_title: str | None = None
    manager_id: str | None = None
    termination_date: date | None = None
    user_name: str | None = None
    location: str | None = None
    cost_center: str | None = None
    worker_type: str | None = None

    def terminated_on(self, day: date) -> bool:
        """Whether the worker is terminated as of ``day`` (effective-dated)."""
        return self.termination_date is not None and self.termination_date <= day

    def active_on(self, day: date) -> bool:
        """Hired by ``day`` and not terminated."""
        return self.hire_date <= day and not self.terminated_on(day)


@dataclass(frozen=True, slots=True)
class TransactionEntry:
    """One business process recorded in the transaction log.

    :param entered: the moment it was entered (``Updated_From``/``Updated_Through``).
    :param effective: the day it takes effect (``Effective_From``/``Effective_Through``).
    """

    wid: str
    entered: datetime
    effective: date
    kind: str


@dataclass(frozen=True, slots=True)
class ValidationError:
    """One ``Validation_Error`` of a ``Validation_Fault``."""

    message: str
    detail_message: str
    xpath: str


class WorkdayFault(Exception):
    """A SOAP fault the simulator answers with (HTTP 500, like Workday)."""

    faultcode = "SOAP-ENV:Client"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFault(WorkdayFault):
    """``Client.validationError`` with one ``Validation_Error`` per problem."""

    faultcode = "SOAP-ENV:Client.validationError"

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__("Validation error occurred. " + errors[0].message)
        self.errors = errors


class ProcessingFault(WorkdayFault):
    """``Client.processingFault``: the request is valid but cannot be processed now."""

    faultcode = "SOAP-ENV:Client.processingFault"

    def __init__(self, message: str, detail_message: str) -> None:
        super().__init__(message)
        self.detail_message = detail_message


class AuthenticationFault(WorkdayFault):
    """``Client.authenticationError``: WS-Security credentials rejected."""

    faultcode = "SOAP-ENV:Client.authenticationError"

    def __init__(self) -> None:
        super().__init__("invalid username or password")


@dataclass
class FaultInjection:
    """Knobs that make the simulator misbehave the way a real tenant sometimes does.

    :param page_delay: seconds to wait before answering any Get_Workers page.
    :param slow_pages: extra seconds to wait before answering the given page numbers.
    :param failing_pages: page number -> how many more times that page answers HTTP 500.
    :param pending_business_process: WIDs with a contact change in progress.
    :param malformed_workers: WIDs rendered without account data and with a broken hire date.
    """

    page_delay: float = 0.0
    slow_pages: dict[int, float] = field(default_factory=dict)
    failing_pages: dict[int, int] = field(default_factory=dict)
    pending_business_process: set[str] = field(default_factory=set)
    malformed_workers: set[str] = field(default_factory=set)

    def take_failure(self, page: int) -> bool:
        """Whether this answer for ``page`` must be an HTTP 500 (consumes one failure)."""
        left = self.failing_pages.get(page, 0)
        if left <= 0:
            return False
        self.failing_pages[page] = left - 1
        return True
