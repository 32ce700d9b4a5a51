"""An in-memory Workday tenant: workers with entered history and a transaction log.

Every change is stored as a new snapshot stamped with the moment it was entered, so a read
``As_Of_Entry_DateTime`` sees the tenant exactly as it was then, on every page. Hire and
termination dates are effective dates, evaluated against the read's effective day.
"""

from __future__ import annotations

import bisect
import dataclasses
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from provisync_workday.simulator.model import (
    Email,
    FaultInjection,
    Phone,
    TransactionEntry,
    ValidationError,
    ValidationFault,
    WorkerData,
)
from provisync_workday.simulator.writeback import (
    ContactEntry,
    apply_account_update,
    apply_contact_change,
)


class _History:
    __slots__ = ("entered", "snapshots")

    def __init__(self, entered: datetime, snapshot: WorkerData) -> None:
        self.entered = [entered]
        self.snapshots = [snapshot]

    def as_of(self, moment: datetime) -> WorkerData | None:
        index = bisect.bisect_right(self.entered, moment)
        return self.snapshots[index - 1] if index else None

    @property
    def current(self) -> WorkerData:
        return self.snapshots[-1]


def new_wid() -> str:
    """A 32-hex-digit Workday ID."""
    return uuid.uuid4().hex


class SimulatedTenant:
    """One Workday tenant held in memory.

    :param name: the tenant name in the URL and in ``user@tenant``.
    :param credentials: integration system users and their passwords.
    """

    def __init__(self, name: str = "acme", credentials: dict[str, str] | None = None) -> None:
        self.name = name
        self.credentials = dict(credentials or {"isu_provisync": "workday-secret"})
        self.faults = FaultInjection()
        self.time_offset = timedelta(0)
        self.log: list[TransactionEntry] = []
        self._log_entered: list[datetime] = []
        self._histories: dict[str, _History] = {}
        self._order: list[str] = []
        self._created: list[datetime] = []
        self._by_employee_id: dict[str, str] = {}
        self._usernames: dict[str, str] = {}
        self._last_moment = datetime(2000, 1, 1, tzinfo=UTC)
        self._next_employee_id = 21001
        self._next_ref = 1
        self._match_cache: dict[tuple[Any, ...], list[str]] = {}

    # clock -------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The tenant's current moment: strictly increasing, shifted by :meth:`travel`."""
        moment = datetime.now(UTC) + self.time_offset
        if moment <= self._last_moment:
            moment = self._last_moment + timedelta(microseconds=1)
        self._last_moment = moment
        return moment

    def today(self) -> date:
        return self.now().date()

    def travel(self, delta: timedelta) -> None:
        """Move the tenant's clock forward (effective dates come due)."""
        self.time_offset += delta

    # lookups -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._order)

    def worker(self, wid: str) -> WorkerData:
        """The worker's current snapshot; :class:`KeyError` for an unknown WID."""
        return self._histories[wid].current

    def has_worker(self, wid: str) -> bool:
        return wid in self._histories

    def wid_of(self, employee_id: str) -> str:
        return self._by_employee_id[employee_id]

    def worker_as_of(self, wid: str, moment: datetime) -> WorkerData | None:
        history = self._histories.get(wid)
        return history.as_of(moment) if history else None

    def visible_wids(self, as_of: datetime) -> list[str]:
        """WIDs of the workers entered by ``as_of``, in a stable order (full reads)."""
        return self._order[: bisect.bisect_right(self._created, as_of)]

    def changed_wids(
        self,
        as_of: datetime,
        updated: tuple[datetime | None, datetime | None],
        effective: tuple[datetime | None, datetime | None],
    ) -> list[str]:
        """WIDs with a logged transaction matching every given range (bounds inclusive).

        :param updated: ``Updated_From``/``Updated_Through`` (entry moments).
        :param effective: ``Effective_From``/``Effective_Through`` (effective days, at 00:00 UTC).
        """
        key = (as_of, *updated, *effective, len(self.log))
        cached = self._match_cache.get(key)
        if cached is not None:
            return cached
        upper = min(m for m in (as_of, updated[1]) if m is not None)
        lower = updated[0]
        start = bisect.bisect_left(self._log_entered, lower) if lower else 0
        stop = bisect.bisect_right(self._log_entered, upper)
        seen: dict[str, None] = {}
        for entry in self.log[start:stop]:
            if effective[0] is not None or effective[1] is not None:
                moment = datetime.combine(entry.effective, datetime.min.time(), UTC)
                if effective[0] is not None and moment < effective[0]:
                    continue
                if effective[1] is not None and moment > effective[1]:
                    continue
            seen[entry.wid] = None
        result = [wid for wid in seen if self.worker_as_of(wid, as_of) is not None]
        if len(self._match_cache) > 32:
            self._match_cache.clear()
        self._match_cache[key] = result
        return result

    # changes -----------------------------------------------------------------------------
    def _record(self, wid: str, moment: datetime, effective: date, kind: str) -> None:
        entry = TransactionEntry(wid=wid, entered=moment, effective=effective, kind=kind)
        self.log.append(entry)
        self._log_entered.append(moment)

    def _store(self, snapshot: WorkerData, moment: datetime) -> None:
        history = self._histories.get(snapshot.wid)
        if history is None:
            self._histories[snapshot.wid] = _History(moment, snapshot)
            self._order.append(snapshot.wid)
            self._created.append(moment)
            self._by_employee_id[snapshot.employee_id] = snapshot.wid
        else:
            previous = history.current.user_name
            if previous and self._usernames.get(previous) == snapshot.wid:
                del self._usernames[previous]
            history.entered.append(moment)
            history.snapshots.append(snapshot)
        if snapshot.user_name:
            self._usernames[snapshot.user_name] = snapshot.wid

    def new_ref(self, prefix: str) -> str:
        ref = f"{prefix}_REFERENCE-6-{self._next_ref}"
        self._next_ref += 1
        return ref

    def hire(
        self,
        first_name: str,
        last_name: str,
        *,
        hire_date: date | None = None,
        email: str | None = None,
        phone: str | None = None,
        business_title: str | None = None,
        manager_id: str | None = None,
        user_name: str | None = None,
        preferred_first: str | None = None,
        preferred_last: str | None = None,
        employee_id: str | None = None,
        wid: str | None = None,
        location: str | None = None,
        cost_center: str | None = None,
        worker_type: str | None = None,
    ) -> WorkerData:
        """Hire a worker (Hire business process); a future ``hire_date`` is a pre-hire.

        :param phone: the work phone number, country code 1, device type Landline.
        :return: the new worker's snapshot.
        """
        moment = self.now()
        if employee_id is None:
            employee_id = str(self._next_employee_id)
            self._next_employee_id += 1
        if user_name and user_name in self._usernames:
            raise ValueError(f"user name {user_name!r} is taken")
        emails = (Email(email, ref=self.new_ref("EMAIL")),) if email else ()
        phones = (Phone(phone, ref=self.new_ref("PHONE")),) if phone else ()
        snapshot = WorkerData(
            wid=wid or new_wid(),
            employee_id=employee_id,
            legal_first=first_name,
            legal_last=last_name,
            preferred_first=preferred_first,
            preferred_last=preferred_last,
            hire_date=hire_date or moment.date(),
            emails=emails,
            phones=phones,
            business_title=business_title,
            manager_id=manager_id,
            user_name=user_name,
            location=location,
            cost_center=cost_center,
            worker_type=worker_type,
        )
        self._store(snapshot, moment)
        self._record(snapshot.wid, moment, snapshot.hire_date, "Hire")
        return snapshot

    def change(
        self, wid: str, *, effective: date | None = None, kind: str = "Change", **fields: Any
    ) -> WorkerData:
        """Change a worker's data (any :class:`WorkerData` field but ``wid``).

        :param effective: the change's effective day (today when omitted).
        """
        current = self.worker(wid)
        if "email" in fields:
            address = fields.pop("email")
            fields["emails"] = (Email(address, ref=self.new_ref("EMAIL")),) if address else ()
        if "phone" in fields:
            number = fields.pop("phone")
            fields["phones"] = (Phone(number, ref=self.new_ref("PHONE")),) if number else ()
        name = fields.get("user_name")
        if name and self._usernames.get(name, wid) != wid:
            raise ValueError(f"user name {name!r} is taken")
        moment = self.now()
        snapshot = dataclasses.replace(current, **fields)
        self._store(snapshot, moment)
        self._record(wid, moment, effective or moment.date(), kind)
        return snapshot

    def terminate(self, wid: str, termination_date: date | None = None) -> WorkerData:
        """Terminate a worker, effective ``termination_date`` (today when omitted)."""
        day = termination_date or self.today()
        return self.change(wid, termination_date=day, effective=day, kind="Termination")

    def generate(self, count: int, *, domain: str = "example.com") -> list[str]:
        """Hire ``count`` synthetic workers at once (fast: one entry moment for the batch).

        Every tenth worker reports to the first worker of its block; every worker has a work
        email, a work phone, a title and an account.

        :return: the new WIDs in order.
        """
        moment = self.now()
        first_names = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
        last_names = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen")
        titles = ("Engineer", "Analyst", "Manager", "Designer", "Recruiter", "Accountant")
        hire = moment.date() - timedelta(days=30)
        wids: list[str] = []
        base = self._next_employee_id
        for index in range(count):
            employee_id = str(base + index)
            first = first_names[index % len(first_names)]
            last = last_names[index % len(last_names)]
            user_name = f"{first.lower()}.{last.lower()}.{employee_id}"
            snapshot = WorkerData(
                wid=new_wid(),
                employee_id=employee_id,
                legal_first=first,
                legal_last=last,
                hire_date=hire,
                emails=(Email(f"{user_name}@{domain}", ref=f"EMAIL_REFERENCE-g{employee_id}"),),
                phones=(Phone(f"555-{index % 10000:04d}", ref=f"PHONE_REFERENCE-g{employee_id}"),),
                business_title=titles[index % len(titles)],
                manager_id=str(base + index - index % 10) if index % 10 else None,
                user_name=user_name,
            )
            self._store(snapshot, moment)
            self._record(snapshot.wid, moment, hire, "Hire")
            wids.append(snapshot.wid)
        self._next_employee_id = base + count
        return wids

    # write-back --------------------------------------------------------------------------
    def require_worker(self, wid: str, xpath: str) -> WorkerData:
        """The worker, or Workday's invalid-ID validation fault."""
        if wid not in self._histories:
            message = f"Invalid ID value.  '{wid}' is not a valid ID value for type = 'WID'"
            raise ValidationFault([ValidationError(message, message, xpath)])
        return self.worker(wid)

    def maintain_contact_information(
        self,
        wid: str,
        emails: Iterable[ContactEntry[Email]],
        phones: Iterable[ContactEntry[Phone]],
        *,
        add_only: bool,
        xpath: str,
    ) -> str:
        """Apply a Maintain Contact Information event; see :func:`apply_contact_change`.

        :return: the event's WID.
        """
        worker = self.require_worker(wid, xpath)
        pending = wid in self.faults.pending_business_process
        updated = apply_contact_change(
            self, worker, list(emails), list(phones), add_only=add_only, pending=pending
        )
        self.change(wid, kind="Contact Change", emails=updated.emails, phones=updated.phones)
        return new_wid()

    def update_account(self, wid: str, user_name: str, *, xpath: str) -> None:
        """Workday_Account_for_Worker_Update: change the account's user name."""
        worker = self.require_worker(wid, xpath)
        apply_account_update(worker, user_name, self._usernames.get(user_name), xpath)
        self.change(wid, kind="Account Update", user_name=user_name)
