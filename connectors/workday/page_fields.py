"""The fields of every worker of a Get_Workers page, read in one XSLT pass.

Compiled XPath costs some twenty calls, about 30 µs of Python, per worker, all of it holding
the GIL that the engine needs meanwhile. libxslt reads a whole page in C with the GIL released
and leaves one small element per worker, whose attributes Python then picks up. The XPath
expressions are those of :func:`connectors.workday.workers.fields_of`, so both read the same
values (a test holds them to it).
"""

from __future__ import annotations

import threading

from lxml import etree

from connectors.workday.workers import PrimaryContact, WorkerFields
from connectors.workday.xmlns import BSVC

_PRIMARY_WORK = (
    "[wd:Usage_Data/wd:Type_Data[(@wd:Primary='1' or @wd:Primary='true')"
    " and normalize-space(wd:Type_Reference/wd:ID)='WORK']]"
)
_LAST_ID = "(%s/wd:ID[@wd:type='%s'])[last()]"
_ID_TEXT = "node()[1][self::text()]"
_MANAGER = "$position/wd:Manager_as_of_last_detected_manager_change_Reference"
_STYLESHEET = f"""\
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:wd="{BSVC}" exclude-result-prefixes="wd">
  <xsl:template match="/">
    <page>
      <xsl:for-each select="*/wd:Response_Data/wd:Worker">
        <xsl:variable name="data" select="(wd:Worker_Data)[1]"/>
        <xsl:variable name="names" select="$data/wd:Personal_Data/wd:Name_Data"/>
        <xsl:variable name="legal" select="($names/wd:Legal_Name_Data/wd:Name_Detail_Data)[1]"/>
        <xsl:variable name="preferred"
            select="($names/wd:Preferred_Name_Data/wd:Name_Detail_Data)[1]"/>
        <xsl:variable name="status"
            select="($data/wd:Employment_Data/wd:Worker_Status_Data)[1]"/>
        <xsl:variable name="position"
            select="($data/wd:Employment_Data/wd:Worker_Job_Data/wd:Position_Data)[1]"/>
        <xsl:variable name="contact" select="$data/wd:Personal_Data/wd:Contact_Data"/>
        <w d="{{count($data)}}" un="{{$data/wd:User_Account_Data/wd:User_Name}}"
            ui="{{$data/wd:User_ID}}"
            lf="{{$legal/wd:First_Name}}" ll="{{$legal/wd:Last_Name}}"
            pf="{{$preferred/wd:First_Name}}" pl="{{$preferred/wd:Last_Name}}"
            hd="{{$status/wd:Hire_Date}}" te="{{$status/wd:Terminated}}"
            td="{{$status/wd:Termination_Date}}" ti="{{$position/wd:Business_Title}}"
            ds="{{wd:Worker_Descriptor}}" wi="{{$data/wd:Worker_ID}}">
          <!-- an id's .text in lxml: the text node that opens it, if any -->
          <xsl:for-each select="{_LAST_ID % ("wd:Worker_Reference", "WID")}">
            <xsl:attribute name="wid"><xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="{_LAST_ID % ("wd:Worker_Reference", "Employee_ID")}">
            <xsl:attribute name="eid"><xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="{_LAST_ID % (_MANAGER, "Employee_ID")}">
            <xsl:attribute name="mid"><xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="($contact/wd:Email_Address_Data{_PRIMARY_WORK})[1]">
            <xsl:attribute name="ev"><xsl:value-of select="wd:Email_Address"/></xsl:attribute>
            <xsl:attribute name="er">
              <xsl:value-of select="wd:Email_Reference/wd:ID"/>
            </xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="($contact/wd:Phone_Data{_PRIMARY_WORK})[1]">
            <xsl:attribute name="pn"><xsl:value-of select="wd:Phone_Number"/></xsl:attribute>
            <xsl:attribute name="pc">
              <xsl:value-of select="wd:International_Phone_Code"/>
            </xsl:attribute>
            <xsl:attribute name="pr">
              <xsl:value-of select="wd:Phone_Reference/wd:ID"/>
            </xsl:attribute>
          </xsl:for-each>
        </w>
      </xsl:for-each>
    </page>
  </xsl:template>
</xsl:stylesheet>
"""
_local = threading.local()


def _transform() -> etree.XSLT:
    """This thread's compiled stylesheet (pages are read in worker threads)."""
    transform: etree.XSLT | None = getattr(_local, "transform", None)
    if transform is None:
        transform = _local.transform = etree.XSLT(etree.XML(_STYLESHEET.encode()))
    return transform


def _stripped(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _id(value: str | None) -> str | None:
    return None if value is None else value.strip()


def extract_workers(response: etree._Element) -> etree._Element:
    """Run the stylesheet over a Get_Workers response: one element per worker, in order.

    libxslt works with the GIL released: call this in a worker thread.
    """
    return _transform()(response).getroot()


def fields_from(workers: etree._Element) -> list[WorkerFields]:
    """The fields of each worker of :func:`extract_workers`' result (plain Python)."""
    out: list[WorkerFields] = []
    for worker in workers:
        get = worker.get
        email = phone = None
        if get("ev") is not None:
            email = PrimaryContact(_stripped(get("ev")) or "", _stripped(get("er")))
        if get("pn") is not None:
            number = _stripped(get("pn")) or ""
            code = _stripped(get("pc"))
            phone = PrimaryContact(f"+{code} {number}" if code else number, _stripped(get("pr")))
        out.append(
            WorkerFields(
                wid=_id(get("wid")),
                employee_id=_id(get("eid")),
                has_data=get("d") != "0",
                user_name=_stripped(get("un")),
                user_id=_stripped(get("ui")),
                legal_first=_stripped(get("lf")),
                legal_last=_stripped(get("ll")),
                preferred_first=_stripped(get("pf")),
                preferred_last=_stripped(get("pl")),
                hire=_stripped(get("hd")),
                terminated=_stripped(get("te")),
                termination=_stripped(get("td")),
                title=_stripped(get("ti")),
                manager_employee_id=_id(get("mid")),
                email=email,
                phone=phone,
                descriptor=_stripped(get("ds")),
                worker_id=_stripped(get("wi")),
            )
        )
    return out


def page_fields(response: etree._Element) -> list[WorkerFields]:
    """The fields of each ``Response_Data/Worker`` of a Get_Workers response, in order."""
    return fields_from(extract_workers(response))
