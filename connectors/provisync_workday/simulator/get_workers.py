"""The simulator's Get_Workers operation: references, paging and the transaction log."""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from provisync_workday.simulator.model import ValidationError, ValidationFault
from provisync_workday.simulator.render import (
    _SUB,
    _text,
    render_worker,
    wd_date,
    wd_datetime,
)
from provisync_workday.simulator.tenant import SimulatedTenant
from provisync_workday.xmlns import bsvc

_REQ = "/bsvc:Get_Workers_Request[1]"


def _find_text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, namespaces={"bsvc": bsvc("")[1:-1]})
    return found.text.strip() if found is not None and found.text else None


def _moment(element: etree._Element, path: str) -> datetime | None:
    value = _find_text(element, path)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        message = f"Invalid value for dateTime: {value}"
        raise ValidationFault([ValidationError(message, message, f"{_REQ}/{path}")]) from None
    if moment.tzinfo is None:
        raise ValidationFault([ValidationError(
            f"Invalid value for dateTime: {value}", "A dateTime needs a zone.", f"{_REQ}/{path}")])
    return moment


def _int(element: etree._Element, path: str, default: int, low: int, high: int) -> int:
    value = _find_text(element, path)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        message = f"Invalid value for {path.rsplit(':', 1)[-1]}: {value} (allowed {low}-{high})"
        raise ValidationFault([ValidationError(message, message, f"{_REQ}/{path}")])
    return number


def page_of(request: etree._Element) -> int:
    """The page number a Get_Workers request asks for (1 when absent or invalid)."""
    try:
        return int(_find_text(request, "bsvc:Response_Filter/bsvc:Page") or 1)
    except ValueError:
        return 1


def has_references(request: etree._Element) -> bool:
    return request.find(bsvc("Request_References")) is not None


def get_workers(tenant: SimulatedTenant, request: etree._Element, body: etree._Element) -> None:
    """Answer one Get_Workers_Request into ``body``.

    Without ``As_Of_Entry_DateTime`` the read is as of now, and the response echoes the
    moment used, so a client can pin every later page (and its next increment) to it.
    """
    filt = "bsvc:Response_Filter/"
    as_of = _moment(request, filt + "bsvc:As_Of_Entry_DateTime") or tenant.now()
    effective_value = _find_text(request, filt + "bsvc:As_Of_Effective_Date")
    effective_day = date.fromisoformat(effective_value[:10]) if effective_value else as_of.date()
    page = _int(request, filt + "bsvc:Page", 1, 1, 1_000_000)
    count = _int(request, filt + "bsvc:Count", 100, 1, 999)
    criteria = "bsvc:Request_Criteria/bsvc:Transaction_Log_Criteria_Data/"
    criteria += "bsvc:Transaction_Date_Range_Data/bsvc:"
    updated = (_moment(request, criteria + "Updated_From"),
               _moment(request, criteria + "Updated_Through"))
    effective = (_moment(request, criteria + "Effective_From"),
                 _moment(request, criteria + "Effective_Through"))
    references = request.findall(
        "bsvc:Request_References/bsvc:Worker_Reference/bsvc:ID", {"bsvc": bsvc("")[1:-1]}
    )
    if references:
        wids = []
        for index, ref in enumerate(references, 1):
            id_type = ref.get(bsvc("type"))
            value = (ref.text or "").strip()
            try:
                wid = value if id_type == "WID" else tenant.wid_of(value)
            except KeyError:
                wid = ""
            if not tenant.has_worker(wid):
                message = (f"Invalid ID value.  '{value}' is not a valid ID value "
                           f"for type = '{id_type}'")
                xpath = (f"{_REQ}/bsvc:Request_References[1]"
                         f"/bsvc:Worker_Reference[{index}]/bsvc:ID[1]")
                raise ValidationFault([ValidationError(message, message, xpath)])
            wids.append(wid)
    elif any(updated) or any(effective):
        wids = tenant.changed_wids(as_of, updated, effective)
    else:
        wids = tenant.visible_wids(as_of)
    total = len(wids)
    pages = max(1, -(-total // count))
    chunk = wids[(page - 1) * count : page * count]

    response = _SUB(body, bsvc("Get_Workers_Response"),
                    {bsvc("version"): request.get(bsvc("version"), "")})
    echo = _SUB(response, bsvc("Request_Criteria"))
    if any(updated) or any(effective):
        ranges = _SUB(_SUB(echo, bsvc("Transaction_Log_Criteria_Data")),
                      bsvc("Transaction_Date_Range_Data"))
        for name, value in (("Updated_From", updated[0]), ("Updated_Through", updated[1]),
                            ("Effective_From", effective[0]), ("Effective_Through", effective[1])):
            if value is not None:
                _text(ranges, name, wd_datetime(value))
    response_filter = _SUB(response, bsvc("Response_Filter"))
    _text(response_filter, "As_Of_Effective_Date", wd_date(effective_day))
    _text(response_filter, "As_Of_Entry_DateTime", wd_datetime(as_of))
    _text(response_filter, "Page", str(page))
    _text(response_filter, "Count", str(count))
    results = _SUB(response, bsvc("Response_Results"))
    _text(results, "Total_Results", str(total))
    _text(results, "Total_Pages", str(pages))
    _text(results, "Page_Results", str(len(chunk)))
    _text(results, "Page", str(page))
    data = _SUB(response, bsvc("Response_Data"))
    malformed = tenant.faults.malformed_workers
    for wid in chunk:
        worker = tenant.worker_as_of(wid, as_of)
        if worker is None:
            continue
        manager_wid = None
        if worker.manager_id:
            try:
                manager_wid = tenant.wid_of(worker.manager_id)
            except KeyError:
                manager_wid = None
        render_worker(data, worker, effective_day, manager_wid, malformed=wid in malformed)
