"""/report YEAR: the annual report draft, an A4 DOCX in the staff member's language.

Its sections follow what the centre's own annual report states (issue 17): the year's
totals with a chart, regions (adding up to the total, with a row for those without a
region), each challenge's participants, each contest's entries and winners and its entries
by nomination, webinars and their attendance, factions, types of organisation, the
coordinators by level and parliament, and the offline events and people reached that
coordinators filed in their weekly reports, by region (bot.services.weekly).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import stats as st
from bot.services import weekly
from bot.services.annual import data as yd
from bot.services.annual.chart import year_chart
from bot.services.reports import KIND_LABELS, WebinarRow, webinar_rows
from bot.services.stats import _

Fmt = Callable[[int | float], str]
TEXT_WIDTH_MM = 170  # A4 less the margins
FIRST_COLUMN_MM = 52
PlaceName = Callable[[str, int], str]
# The same message ids as bot.labels (which needs aiogram): one translation in the catalogs.
FACTIONS = {"self_knowledge": _("Self-knowledge"), "happiness": _("Happiness"),
            "law_order": _("Law and order"), "care": _("Care (volunteering)")}
ORG_TYPES = {"school": _("School"), "college": _("College"), "university": _("University")}
LEVELS = {"regional": _("Regional level"), "district": _("District (city) level")}
PARLIAMENTS = (("school", _("School Parliament")), ("student", _("Student Parliament")),
               ("unknown", _("Not given")))
ROLES = (("student", _("Students")), ("coordinator", _("Coordinators")),
         ("staff", _("Centre staff")))


async def annual_docx(session: AsyncSession, year: int, tz: Any, now: datetime,
                      tr: st.Translate, locale: str, fmt: Fmt, place_name: PlaceName) -> bytes:
    period = st.Period(date(year, 1, 1), date(year, 12, 31), tz)
    data = await st.collect(session, period, st.Scope(), with_trend=False)
    _totals, areas = await st.summary(session, period, st.Scope())
    quarters = [await _quarter(session, year, q, tz) for q in range(4)]
    challenges = await yd.year_challenges(session, period, locale)
    webinars = await webinar_rows(session, period, st.Scope(), locale)
    regions, unknown_region = yd.area_rows(areas)
    doc = _new_document()
    doc.add_heading(tr(_("School and Student Parliament: results of {year}")).format(year=year),
                    level=1)
    doc.add_paragraph(tr(_("Draft prepared by the bot from its records on {date}.")).format(
        date=now.astimezone(tz).strftime("%d.%m.%Y")))
    _totals_section(doc, data, year, tr, fmt)
    _picture(doc, year_chart(quarters, regions, tr, place_name))
    _quarters_section(doc, quarters, tr, fmt)
    _regions_section(doc, regions, unknown_region, data.total, tr, fmt, place_name)
    _challenges_section(doc, challenges, tz, tr, fmt)
    _webinars_section(doc, webinars, tz, tr, fmt)
    _nominations_section(doc, challenges, tr, fmt)
    _breakdown_section(doc, tr(_("By faction")), tr(_("Faction")), FACTIONS,
                       await yd.breakdown(session, period, "faction"), tr, fmt)
    _breakdown_section(doc, tr(_("By type of organisation")), tr(_("Organisation type")),
                       ORG_TYPES, await yd.breakdown(session, period, "org_type"), tr, fmt)
    _coordinators_section(doc, await yd.coordinators(session, period), tr, fmt)
    _roles_section(doc, await yd.attendance_by_role(session, period), tr, fmt)
    _offline_section(doc, await weekly.offline_by_region(session, period), data, tr, fmt,
                     place_name)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


async def _quarter(session: AsyncSession, year: int, q: int, tz: Any) -> dict[str, int]:
    next_first = date(year, 3 * q + 4, 1) if q < 3 else date(year + 1, 1, 1)
    period = st.Period(date(year, 3 * q + 1, 1), next_first - timedelta(days=1), tz)
    totals, _areas = await st.summary(session, period, st.Scope(), by_area=False)
    return totals


def _new_document() -> Any:
    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4, not Letter
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(18)
    doc.styles["Normal"].font.name = "Times New Roman"
    doc.styles["Normal"].font.size = Pt(11)
    return doc


def _picture(doc: Any, png: bytes) -> None:
    from docx.shared import Mm

    doc.add_picture(io.BytesIO(png), width=Mm(170))


def _table(doc: Any, header: list[str], rows: list[list[Any]], bold_last: bool = False) -> None:
    from docx.shared import Mm, Pt

    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = str(text)
    size, widths = column_widths(header, rows)
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)  # the grid LibreOffice reads; Word reads the cells
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Mm(width)  # the name column wide, the numbers narrow
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(size)
    if bold_last and rows:
        for cell in table.rows[-1].cells:
            for run in cell.paragraphs[0].runs:
                run.bold = True


# A word of n letters in bold Times at s pt is about n * s * CHAR_MM mm wide, and a cell's
# margins take CELL_PAD_MM: what a column needs so that no word is broken ("Тіркелген|дер").
CHAR_MM = 0.2
CELL_PAD_MM = 4.0
MIN_FIRST_MM = 32
FONT_SIZES = (9.5, 9.0, 8.5, 8.0)


def column_widths(header: list[str], rows: list[list[Any]]) -> tuple[float, list[float]]:
    """(font size, widths in mm): every column of numbers as wide as its longest word (the
    header's included) at the largest size that leaves the first column MIN_FIRST_MM; the
    first column gets the rest, up to its usual width, and any room left is shared."""
    n = len(header)
    usual = {2: TEXT_WIDTH_MM / 2, 3: 90}.get(n, FIRST_COLUMN_MM)
    longest = [max((len(word) for text in (header[i], *(r[i] for r in rows))
                    for word in str(text).split()), default=1) for i in range(n)]
    for size in FONT_SIZES:
        need = [k * size * CHAR_MM + CELL_PAD_MM for k in longest[1:]]
        first = TEXT_WIDTH_MM - sum(need)
        if first >= MIN_FIRST_MM or size == FONT_SIZES[-1]:
            break
    if first >= usual:
        spare = (first - usual) / (n - 1)
        return size, [usual, *[w + spare for w in need]]
    return size, [first, *need]


def _totals_section(doc: Any, data: st.Stats, year: int, tr: st.Translate, fmt: Fmt) -> None:
    doc.add_heading(tr(_("Totals for the year")), level=2)
    _table(doc, [tr(_("Indicator")), str(year), str(year - 1)],
           [[f"{tr(title)}: {tr(label)}", fmt(data.current[key]), fmt(data.previous[key])]
            for title, items in st.SECTIONS for key, label in items])


def _quarters_section(doc: Any, quarters: list[dict[str, int]], tr: st.Translate,
                      fmt: Fmt) -> None:
    doc.add_heading(tr(_("By quarter")), level=2)
    keys = ["reg_student", "active", "joins", "submissions", "winners", "webinars_held",
            "attendance"]
    _table(doc, [tr(_("Indicator")), "I", "II", "III", "IV"],
           [[tr(st.METRIC_LABELS[k]), *[fmt(q[k]) for q in quarters]] for k in keys])


def _regions_section(doc: Any, regions: list[st.AreaRow], unknown: st.AreaRow | None,
                     total: st.AreaRow, tr: st.Translate, fmt: Fmt,
                     place_name: PlaceName) -> None:
    """Every region, then those without one (erased or never given), then the total: the
    rows add up to it."""
    doc.add_heading(tr(_("By region")), level=2)

    def cells(row: st.AreaRow) -> list[str]:
        return [fmt(row.get("registrations")), fmt(row.get("active")), fmt(row.participation),
                fmt(row.get("winners"))]

    rows = [[place_name("region", r.area_id or 0), *cells(r)] for r in regions]
    if unknown is not None and any(unknown.counts.values()):
        rows.append([tr(_("Region not given")), *cells(unknown)])
    _table(doc, [tr(_("Region")), tr(_("Registrations")), tr(_("Active users")),
                 tr(_("Participation")), tr(_("Winners"))],
           [*rows, [tr(_("Total")), *cells(total)]], bold_last=True)


def _offline_section(doc: Any, by_region: dict[int | None, weekly.Offline], data: st.Stats,
                     tr: st.Translate, fmt: Fmt, place_name: PlaceName) -> None:
    """What coordinators reported of their offline weeks, by region (the region copied when
    each report was filed), beside the bot's own counts above."""
    doc.add_heading(tr(_("Offline events by region (coordinators' weekly reports)")), level=2)
    known = sorted(((k, v) for k, v in by_region.items() if k is not None),
                   key=lambda kv: (-kv[1].events, -kv[1].people, kv[0]))
    rows = [[place_name("region", k), fmt(v.filed), fmt(v.events), fmt(v.people)]
            for k, v in known]
    if None in by_region:
        v = by_region[None]
        rows.append([tr(_("Region not given")), fmt(v.filed), fmt(v.events), fmt(v.people)])
    total = data.offline
    rows.append([tr(_("Total")), fmt(total.filed), fmt(total.events), fmt(total.people)])
    _table(doc, [tr(_("Region")), tr(_("Coordinators who reported")), tr(_("Events held")),
                 tr(_("People reached"))], rows, bold_last=True)
    doc.add_paragraph(tr(_("Coordinators who reported: {filed} of {all}")).format(
        filed=fmt(total.filed), all=fmt(total.coordinators)))


def _kind(kind: str, tr: st.Translate) -> str:
    return tr(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def _challenges_section(doc: Any, challenges: list[yd.YearChallenge], tz: Any,
                        tr: st.Translate, fmt: Fmt) -> None:
    doc.add_heading(tr(_("Challenges, actions and contests")), level=2)
    if not challenges:
        doc.add_paragraph(tr(_("None in this year.")))
        return
    _table(doc, [tr(_("Title")), tr(_("Type")), tr(_("Starts")), tr(_("Participants")),
                 tr(_("Entries submitted")), tr(_("Winners"))],
           [[c.title, _kind(c.kind, tr),
             c.starts.astimezone(tz).strftime("%d.%m.%Y") if c.starts else "—",
             fmt(c.participants), fmt(c.entries), fmt(c.winners)] for c in challenges])


def _webinars_section(doc: Any, webinars: list[WebinarRow], tz: Any, tr: st.Translate,
                      fmt: Fmt) -> None:
    doc.add_heading(tr(_("Webinars")), level=2)
    if not webinars:
        doc.add_paragraph(tr(_("None in this year.")))
        return
    held = [w for w in webinars if w.status != "cancelled"]
    rows = [[w.title + (" (" + tr(_("Cancelled")) + ")" if w.status == "cancelled" else ""),
             w.starts.astimezone(tz).strftime("%d.%m.%Y") if w.starts else "—",
             fmt(w.registered), fmt(w.attended), ", ".join(w.speakers) or "—"]
            for w in webinars]
    rows.append([tr(_("Webinars in total: {count}")).format(count=fmt(len(held))), "",
                 fmt(sum(w.registered for w in held)), fmt(sum(w.attended for w in held)),
                 fmt(len({s.casefold() for w in held for s in w.speakers}))])
    _table(doc, [tr(_("Title")), tr(_("Date")), tr(_("Registered")), tr(_("Attended")),
                 tr(_("Speakers"))], rows, bold_last=True)


def _nominations_section(doc: Any, challenges: list[yd.YearChallenge], tr: st.Translate,
                         fmt: Fmt) -> None:
    with_nominations = [c for c in challenges if c.nominations]
    if not with_nominations:
        return
    doc.add_heading(tr(_("Contest entries by nomination")), level=2)
    rows: list[list[Any]] = []
    for c in with_nominations:
        for name, entries, approved, winners in c.nominations:
            rows.append([c.title, name or tr(_("Without a nomination")), fmt(entries),
                         fmt(approved), fmt(winners)])
        rows.append([c.title, tr(_("Total")), fmt(sum(n[1] for n in c.nominations)),
                     fmt(sum(n[2] for n in c.nominations)),
                     fmt(sum(n[3] for n in c.nominations))])
    _table(doc, [tr(_("Title")), tr(_("Nomination")), tr(_("Entries submitted")),
                 tr(_("Entries approved")), tr(_("Winners"))], rows)


def _breakdown_section(doc: Any, heading: str, first: str, labels: dict[str, str],
                       table: dict[str | None, dict[str, int]], tr: st.Translate,
                       fmt: Fmt) -> None:
    doc.add_heading(heading, level=2)
    cols = yd.BREAKDOWN_COLUMNS
    keys = [k for k in labels if k in table] + [k for k in table if k not in labels]
    rows = [[tr(labels[k]) if k in labels else tr(_("Not given")),
             *[fmt(table[k][c]) for c in cols]] for k in keys]
    rows.append([tr(_("Total")), *[fmt(sum(r[c] for r in table.values())) for c in cols]])
    _table(doc, [first, tr(_("Registrations")), tr(_("Active users")), tr(_("Joined")),
                 tr(_("Entries submitted")), tr(_("Attendance")), tr(_("Winners"))], rows,
           bold_last=True)


def _coordinators_section(doc: Any, counts: dict[tuple[str | None, str], int],
                          tr: st.Translate, fmt: Fmt) -> None:
    doc.add_heading(tr(_("Coordinators by level")), level=2)
    levels = [k for k in LEVELS if any(lv == k for lv, _p in counts)] or list(LEVELS)
    levels += sorted({lv for lv, _p in counts if lv not in LEVELS}, key=str)
    rows = [[tr(LEVELS[lv]) if lv in LEVELS else tr(_("Not given")),
             *[fmt(counts.get((lv, p), 0)) for p, _label in PARLIAMENTS],
             fmt(sum(counts.get((lv, p), 0) for p, _label in PARLIAMENTS))] for lv in levels]
    rows.append([tr(_("Total")), *[fmt(sum(n for (_lv, p), n in counts.items() if p == key))
                                   for key, _label in PARLIAMENTS], fmt(sum(counts.values()))])
    _table(doc, [tr(_("Level")), *[tr(label) for _k, label in PARLIAMENTS], tr(_("Total"))],
           rows, bold_last=True)


def _roles_section(doc: Any, counts: dict[str, int], tr: st.Translate, fmt: Fmt) -> None:
    doc.add_heading(tr(_("Webinar attendance by role")), level=2)
    rows = [[tr(label), fmt(counts.get(role, 0))] for role, label in ROLES]
    others = sum(n for role, n in counts.items() if role not in dict(ROLES))
    if others:
        rows.append([tr(_("Not given")), fmt(others)])
    rows.append([tr(_("Total")), fmt(sum(counts.values()))])
    _table(doc, [tr(_("Role")), tr(_("Attendance"))], rows, bold_last=True)
