"""Workday's rules for the write-back operations: contact information and account names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from provisync_workday.simulator.model import (
    Email,
    Phone,
    ProcessingFault,
    ValidationError,
    ValidationFault,
    WorkerData,
)

if TYPE_CHECKING:
    from provisync_workday.simulator.tenant import SimulatedTenant

ItemT = TypeVar("ItemT", Email, Phone)


@dataclass(frozen=True, slots=True)
class ContactEntry(Generic[ItemT]):
    """One ``Email_Address_Data`` or ``Phone_Data`` of a request.

    :param value: the email or phone; its ``ref`` names the existing item it updates.
    :param delete: the ``Delete`` attribute.
    :param do_not_replace_all: the ``Do_Not_Replace_All`` attribute.
    :param xpath: where it sits in the request, for validation errors.
    """

    value: ItemT
    delete: bool
    do_not_replace_all: bool
    xpath: str


def _merge(
    tenant: SimulatedTenant,
    existing: tuple[ItemT, ...],
    entries: list[ContactEntry[ItemT]],
    add_only: bool,
    prefix: str,
) -> tuple[ItemT, ...]:
    """Submitted items replace all existing ones unless ``Add_Only``/``Do_Not_Replace_All``;
    then an item with a reference updates (or deletes) that item and others are added."""
    if not entries:
        return existing
    replace_all = not add_only and not all(e.do_not_replace_all for e in entries)
    items: list[ItemT] = [] if replace_all else list(existing)
    for entry in entries:
        index = next((i for i, item in enumerate(items) if entry.value.ref and
                      item.ref == entry.value.ref), None)
        if entry.delete:
            if index is not None:
                del items[index]
            continue
        value = entry.value
        if not value.ref:
            value = dataclasses.replace(value, ref=tenant.new_ref(prefix))
        if index is None:
            items.append(value)
        else:
            items[index] = value
    return tuple(items)


def _primary_errors(items: tuple[Email, ...] | tuple[Phone, ...], what: str, xpath: str,
                    ) -> list[ValidationError]:
    usages = {item.usage for item in items}
    errors: list[ValidationError] = []
    for usage in sorted(usages):
        primaries = sum(1 for item in items if item.usage == usage and item.primary)
        if primaries != 1:
            kind = "more than one" if primaries > 1 else "no"
            errors.append(ValidationError(
                f"Exactly one primary {what} is required for usage type {usage}.",
                f"The submitted {what}es leave {kind} primary {what} with usage type "
                f"{usage}; mark exactly one as Primary.",
                xpath,
            ))
    return errors


def apply_contact_change(
    tenant: SimulatedTenant,
    worker: WorkerData,
    emails: list[ContactEntry[Email]],
    phones: list[ContactEntry[Phone]],
    *,
    add_only: bool,
    pending: bool,
) -> WorkerData:
    """Validate and apply a Maintain Contact Information event, as Workday would.

    :param pending: a business process for the worker is already in progress.
    :return: the worker with its new contact data (nothing is stored here).
    :raises ValidationFault: a phone without country code or device type, an invalid email,
        not exactly one primary email (phone) per usage type.
    :raises ProcessingFault: a contact change business process is pending for the worker.
    """
    errors: list[ValidationError] = []
    for email in emails:
        address = email.value.address
        if not email.delete and ("@" not in address or address.startswith("@")):
            errors.append(ValidationError(
                f"Invalid email address: {address}",
                f"'{address}' is not a valid email address.", email.xpath + "/bsvc:Email_Address",
            ))
    for phone in phones:
        if phone.delete:
            continue
        if not phone.value.country_code:
            errors.append(ValidationError(
                "Country Phone Code is required.",
                f"The phone number '{phone.value.number}' has no International_Phone_Code; "
                "a phone number needs a country phone code.",
                phone.xpath + "/bsvc:International_Phone_Code",
            ))
        if not phone.value.device_type:
            errors.append(ValidationError(
                "Phone Device Type is required.",
                f"The phone number '{phone.value.number}' has no Phone_Device_Type_Reference.",
                phone.xpath + "/bsvc:Phone_Device_Type_Reference",
            ))
        digits = phone.value.number.replace("-", "").replace(" ", "")
        if not digits.isdigit():
            errors.append(ValidationError(
                f"Invalid phone number: {phone.value.number}",
                "A phone number may hold only digits, spaces and hyphens.",
                phone.xpath + "/bsvc:Phone_Number",
            ))
    new_emails = _merge(tenant, worker.emails, emails, add_only, "EMAIL")
    new_phones = _merge(tenant, worker.phones, phones, add_only, "PHONE")
    if emails:
        errors += _primary_errors(new_emails, "email address", emails[0].xpath)
    if phones:
        errors += _primary_errors(new_phones, "phone number", phones[0].xpath)
    if errors:
        raise ValidationFault(errors)
    if pending:
        name = f"{worker.legal_first} {worker.legal_last}"
        raise ProcessingFault(
            "Processing error occurred. The business process cannot be started: "
            f"a Contact Change business process is already in progress for {name}.",
            f"Business process pending: Contact Change for {name} ({worker.employee_id}) "
            "awaits approval; complete or cancel it before submitting another.",
        )
    return dataclasses.replace(worker, emails=new_emails, phones=new_phones)


def apply_account_update(
    worker: WorkerData, user_name: str, holder: str | None, xpath: str
) -> None:
    """Check a new account user name.

    :param holder: the WID that holds ``user_name`` now, if any.
    :raises ValidationFault: empty, containing ``;`` or ``:``, or taken by another worker.
    """
    field_xpath = xpath + "/bsvc:Workday_Account_for_Worker_Data[1]/bsvc:User_Name[1]"
    if not user_name.strip():
        raise ValidationFault([ValidationError(
            "User Name is required.", "User Name cannot be empty.", field_xpath)])
    if ";" in user_name or ":" in user_name:
        raise ValidationFault([ValidationError(
            "User Name cannot contain the characters ';' or ':'.",
            f"The user name '{user_name}' contains a character that is not allowed "
            "(';' or ':').",
            field_xpath,
        )])
    if holder is not None and holder != worker.wid:
        raise ValidationFault([ValidationError(
            f"User Name '{user_name}' is already in use.",
            f"The user name '{user_name}' is already taken by another Workday account; "
            "user names must be unique.",
            field_xpath,
        )])
