"""The fields of every worker of a Get_Workers page, read in one XSLT pass.

Compiled XPath costs some twenty calls, about 30 µs of Python, per worker, all of it holding
the GIL that the engine needs meanwhile. libxslt reads a whole page in C with the GIL released
and leaves one small element per worker, whose attributes Python then picks up. The XPath
expressions are those of :func:`provisync_workday.workers.fields_of`, so both read the same
values (a test holds them to it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from lxml import etree

from provisync_workday.workers import PrimaryContact, WorkerFields
from provisync_workday.xmlns import BSVC

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
            ds="{{wd:Worker_Descriptor}}" wi="{{$data/wd:Worker_ID}}"
            wid="" eid="" mid="" ev="" er="" pn="" pc="" pr="">
          <!-- Every attribute is there, in this order (values() reads them in one call); the
               for-each blocks below replace some in place. "=" marks an item that exists,
               so an empty one is told from a missing one. -->
          <!-- an id's .text in lxml: the text node that opens it, if any -->
          <xsl:for-each select="{_LAST_ID % ("wd:Worker_Reference", "WID")}">
            <xsl:attribute name="wid">=<xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="{_LAST_ID % ("wd:Worker_Reference", "Employee_ID")}">
            <xsl:attribute name="eid">=<xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="{_LAST_ID % (_MANAGER, "Employee_ID")}">
            <xsl:attribute name="mid">=<xsl:value-of select="{_ID_TEXT}"/></xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="($contact/wd:Email_Address_Data{_PRIMARY_WORK})[1]">
            <xsl:attribute name="ev">=<xsl:value-of select="wd:Email_Address"/></xsl:attribute>
            <xsl:attribute name="er">
              <xsl:value-of select="wd:Email_Reference/wd:ID"/>
            </xsl:attribute>
          </xsl:for-each>
          <xsl:for-each select="($contact/wd:Phone_Data{_PRIMARY_WORK})[1]">
            <xsl:attribute name="pn">=<xsl:value-of select="wd:Phone_Number"/></xsl:attribute>
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


def extract_workers(response: etree._Element) -> etree._Element:
    """Run the stylesheet over a Get_Workers response: one element per worker, in order.

    libxslt works with the GIL released: call this in a worker thread.
    """
    return _transform()(response).getroot()


def fields_from(workers: etree._Element) -> list[WorkerFields]:
    """The fields of each worker of :func:`extract_workers`' result (plain Python)."""
    return list(iter_fields(workers))


def iter_fields(workers: etree._Element) -> Iterator[WorkerFields]:
    """:func:`fields_from`, one worker at a time (each gone once used: fewer objects for the
    garbage collector to go over).

    One ``values()`` call per worker, its attributes in the stylesheet's order, and the
    tuple built in one step: this runs on the event loop, some 10 µs a worker before.
    """
    new = tuple.__new__
    for worker in workers:
        (d, un, ui, lf, ll, pf, pl, hd, te, td, ti, ds, wi,
         wid, eid, mid, ev, er, pn, pc, pr) = worker.values()  # fmt: skip
        email = PrimaryContact(ev[1:].strip(), er.strip() or None) if ev else None
        if pn:
            number, code = pn[1:].strip(), pc.strip()
            phone = PrimaryContact(f"+{code} {number}" if code else number, pr.strip() or None)
        else:
            phone = None
        fields = (
            wid[1:].strip() if wid else None,
            eid[1:].strip() if eid else None,
            d != "0",
            un.strip() or None,
            ui.strip() or None,
            lf.strip() or None,
            ll.strip() or None,
            pf.strip() or None,
            pl.strip() or None,
            hd.strip() or None,
            te.strip() or None,
            td.strip() or None,
            ti.strip() or None,
            mid[1:].strip() if mid else None,
            email,
            phone,
            ds.strip() or None,
            wi.strip() or None,
        )
        yield new(WorkerFields, fields)


def page_fields(response: etree._Element) -> list[WorkerFields]:
    """The fields of each ``Response_Data/Worker`` of a Get_Workers response, in order."""
    return fields_from(extract_workers(response))
