"""Files for staff: the statistics workbook (XLSX); the annual report is bot.services.annual.

Names and dates of challenges and webinars come from their tables when those features are
installed; every sheet still works (empty) when a table has no rows or does not exist.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import stats as st
from bot.services import weekly, xlsx
from bot.services.stats import _
from db.base import utcnow
from db.models import ActivityLog, Delivery, User

logger = logging.getLogger(__name__)
DATE_FMT = "DD.MM.YYYY"
DATETIME_FMT = "DD.MM.YYYY HH:MM"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
PlaceName = Callable[[str, int], str]

KIND_LABELS = {"challenge": _("Challenge"), "action": _("Action"), "contest": _("Contest")}



def webinar_status(status: str, starts: datetime | None) -> str:
    """Cancelled / Held / Scheduled: a webinar later in the period has not been held yet.
    A webinar's own words (not the announcements' "cancelled", "scheduled"): Russian agrees
    with «вебинар» (отменён, запланирован), Kazakh says болдырылмады as the webinar flow does."""
    if status == "cancelled":
        return _("Cancelled")
    return _("Held") if starts is not None and starts <= utcnow() else _("Scheduled")

@dataclass
class ChallengeRow:
    id: int
    title: str
    kind: str
    starts: datetime | None
    deadline: datetime | None
    joins: int
    submissions: int
    approved: int
    winners: int


@dataclass
class WebinarRow:
    id: int
    title: str
    starts: datetime | None
    status: str
    speakers: list[str]
    registered: int
    attended: int


@dataclass
class BroadcastRow:
    id: int | None
    first_at: datetime | None
    recipients: int
    sent: int
    failed: int
    blocked: int
    text: str = ""


def _challenge_cols(challenge: Any) -> list[Any]:
    """Only the columns used here: the report does not depend on the rest of the model."""
    return [challenge.id, challenge.kind, challenge.title_kk, challenge.title_ru,
            challenge.title_en, challenge.starts_at, challenge.deadline_at]


def _title(row: Any, locale: str) -> str:
    order = {"kk": ("kk", "ru", "en"), "ru": ("ru", "kk", "en")}.get(locale, ("en", "ru", "kk"))
    for lang in order:
        value = getattr(row, f"title_{lang}", None)
        if value:
            return value
    return f"#{row.id}"


async def challenge_rows(session: AsyncSession, period: st.Period, scope: st.Scope,
                         locale: str) -> list[ChallengeRow]:
    """Challenges with any activity in the period (counts within the scope)."""
    a = ActivityLog
    kinds = {"challenge_join": "joins", "submission": "submissions",
             "submission_approved": "approved", "winner": "winners"}
    # These kinds always refer to a challenge (ref_type "challenge").
    rows = await session.execute(st.covered(
        select(a.ref_id, a.kind, func.count())
        .where(a.kind.in_(kinds), a.at >= period.start,
               a.at < period.end, *scope.filters(a.region_id, a.district_id))
        .group_by(a.ref_id, a.kind), "ix_activity_kind_scope"))
    counts: dict[int, dict[str, int]] = {}
    for ref_id, kind, n in rows:
        if ref_id is not None:
            counts.setdefault(ref_id, {})[kinds[kind]] = n
    for win in await st.undone_wins(session, a.at >= period.start, a.at < period.end,
                                    *scope.filters(a.region_id, a.district_id)):
        counts[win.ref_id]["winners"] -= 1  # a cleared place is no win (see st.undone_wins)
    meta: dict[int, Any] = {}
    try:
        from db.models.challenges import Challenge

        ids = set(counts)
        found = await session.execute(select(*_challenge_cols(Challenge)).where(
            Challenge.id.in_(ids) | ((Challenge.starts_at >= period.start)
                                     & (Challenge.starts_at < period.end)
                                     & (Challenge.status != "draft"))))
        meta = {c.id: c for c in found}
    except Exception:  # the challenges feature is missing or not migrated
        logger.warning("challenge names unavailable", exc_info=True)
    out = []
    for cid in sorted(set(counts) | set(meta)):
        c, n = meta.get(cid), counts.get(cid, {})
        out.append(ChallengeRow(
            cid, _title(c, locale) if c else f"#{cid}", c.kind if c else "",
            c.starts_at if c else None, c.deadline_at if c else None, n.get("joins", 0),
            n.get("submissions", 0), n.get("approved", 0), n.get("winners", 0)))
    return out


async def webinar_rows(session: AsyncSession, period: st.Period, scope: st.Scope,
                       locale: str) -> list[WebinarRow]:
    """Webinars starting in the period; registrations and attendance within the scope."""
    try:
        from db.models.webinars import Webinar, WebinarRegistration
    except ImportError:
        return []
    try:
        webinars = (await session.execute(select(
            Webinar.id, Webinar.title_kk, Webinar.title_ru, Webinar.title_en,
            Webinar.starts_at, Webinar.status, Webinar.speakers).where(
            Webinar.starts_at >= period.start, Webinar.starts_at < period.end)
            .order_by(Webinar.starts_at))).all()
        if not webinars:
            return []
        r = WebinarRegistration
        q = (select(r.webinar_id, func.count(),
                    func.count(r.attended_at))
             .where(r.webinar_id.in_([w.id for w in webinars]), r.status != "cancelled")
             .group_by(r.webinar_id))
        if not scope.is_country:
            q = q.join(User, User.id == r.user_id).where(
                *scope.filters(User.region_id, User.district_id))
        regs = {wid: (n, att) for wid, n, att in await session.execute(q)}
    except Exception:
        logger.warning("webinar rows unavailable", exc_info=True)
        return []
    return [WebinarRow(w.id, _title(w, locale), w.starts_at, w.status,
                       st.speaker_names(w.speakers), *regs.get(w.id, (0, 0)))
            for w in webinars]


async def broadcast_rows(session: AsyncSession, period: st.Period,
                         scope: st.Scope) -> list[BroadcastRow]:
    d = Delivery
    q = (select(d.source_id, func.min(d.created_at), func.count(), d.status)
         .where(d.source_type == "broadcast", d.created_at >= period.start,
                d.created_at < period.end)
         .group_by(d.source_id, d.status))
    if not scope.is_country:
        q = q.join(User, User.id == d.user_id).where(
            *scope.filters(User.region_id, User.district_id))
    found: dict[int | None, BroadcastRow] = {}
    for source_id, first_at, n, status in await session.execute(q):
        row = found.setdefault(source_id, BroadcastRow(source_id, first_at, 0, 0, 0, 0))
        row.recipients += n
        if first_at and (row.first_at is None or first_at < row.first_at):
            row.first_at = first_at
        if status in ("sent", "failed", "blocked"):
            setattr(row, status, getattr(row, status) + n)
    await _broadcast_texts(session, found)
    return sorted(found.values(), key=lambda r: (r.first_at or datetime.min.replace(
        tzinfo=period.start.tzinfo), r.id or 0))


async def _broadcast_texts(session: AsyncSession, rows: dict[int | None, BroadcastRow],
                           limit: int = 100) -> None:
    """The start of each broadcast's text, when the broadcasts feature is installed."""
    ids = [i for i in rows if i is not None]
    if not ids:
        return
    try:
        from db.models.broadcasts import Broadcast

        found = await session.execute(select(Broadcast.id, Broadcast.content)
                                      .where(Broadcast.id.in_(ids)))
        for bid, content in found:
            text = (content or {}).get("text") or (content or {}).get("caption") or ""
            rows[bid].text = " ".join(str(text).split())[:limit]
    except Exception:
        logger.warning("broadcast texts unavailable", exc_info=True)


# ---------------------------------------------------------------- XLSX


def _local(value: datetime | None, period: st.Period) -> datetime | None:
    return value.astimezone(period.tz).replace(tzinfo=None) if value else None


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[Any]],
           widths: list[int], formats: dict[int, str] | None = None) -> None:
    ws = wb.create_sheet(title[:31])
    xlsx.append(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        xlsx.append(ws, row)
    # no header word cut ("Присоединил|ись" in 13): a column is at least its longest word
    widths = [max(w, xlsx.header_word_width(h)) for w, h in zip(widths, header, strict=False)]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    xlsx.fit_header_height(ws, header, widths)
    for col, fmt in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = fmt
    ws.freeze_panes = "A2"


async def export_xlsx(session: AsyncSession, period: st.Period, scope: st.Scope,
                      tr: st.Translate, locale: str, place_name: PlaceName) -> bytes:
    districts: dict[tuple, st.AreaRow] = {}
    data = await st.collect(session, period, scope, with_trend=False, districts=districts)
    challenges = await challenge_rows(session, period, scope, locale)
    webinars = await webinar_rows(session, period, scope, locale)
    broadcasts = await broadcast_rows(session, period, scope)
    reports = await weekly.report_rows(session, period, scope)
    wb = Workbook()
    wb.remove(wb.active)
    _summary_sheet(wb, period, data, tr)
    _area_sheets(wb, scope, data, districts, tr, place_name)
    _challenge_sheet(wb, period, challenges, tr)
    _webinar_sheet(wb, period, webinars, tr)
    _broadcast_sheet(wb, period, broadcasts, tr)
    _weekly_sheet(wb, period, reports, tr, place_name)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _summary_sheet(wb: Workbook, period: st.Period, data: st.Stats, tr: st.Translate) -> None:
    prev = period.previous()
    # the dates under the columns' own headers: this period's beside the previous one's
    summary = [[tr(_("First day")), period.first_day, prev.first_day, None, None],
               [tr(_("Last day")), period.last_day, prev.last_day, None, None]]
    for title, rows in st.SECTIONS:
        for key, label in rows:
            cur, before = data.current[key], data.previous[key]
            pct = (cur - before) / before if before else None
            summary.append([f"{tr(title)}: {tr(label)}", cur, before, cur - before, pct])
    summary += _offline_summary(data, tr)
    _sheet(wb, tr(_("Summary")), [tr(_("Indicator")), tr(_("This period")),
                                  tr(_("Previous period")), tr(_("Change")),
                                  tr(_("Change, %"))], summary,
           [label_width([row[0] for row in summary]), 14, 16, 10, 11], {5: "0%"})
    ws = wb[tr(_("Summary"))[:31]]
    for r in (2, 3):
        for c in (2, 3):
            ws.cell(r, c).number_format = DATE_FMT


def label_width(labels: list[str], least: int = 46, most: int = 100) -> int:
    """The indicator column as wide as its longest label: "Offline work (…): Events held"
    and "Offline work (…): People reached" differ only at their ends, cut off they read the
    same (seen rendered, docs/stop-evidence)."""
    return max(least, min(most, max((len(str(x)) for x in labels), default=0) + 2))


def _offline_summary(data: st.Stats, tr: st.Translate) -> list[list[Any]]:
    """The coordinators' weekly reports beside the bot's counts (bot.services.weekly)."""
    now, before = data.offline, data.offline_before
    title = tr(_("Offline work (coordinators' weekly reports)"))
    rows = []
    for label, cur, prev in ((_("Events held"), now.events, before.events),
                             (_("People reached"), now.people, before.people),
                             (_("Coordinators who reported"), now.filed, before.filed),
                             (_("Active coordinators"), now.coordinators,
                              before.coordinators)):
        rows.append([f"{title}: {tr(label)}", cur, prev, cur - prev,
                     (cur - prev) / prev if prev else None])
    return rows


def _weekly_sheet(wb: Workbook, period: st.Period, reports: list[Any], tr: st.Translate,
                  place_name: PlaceName) -> None:
    _sheet(wb, tr(_("Weekly reports")),
           [tr(_("Week")), tr(_("Region")), tr(_("District")), tr(_("Coordinator")),
            tr(_("Events held")), tr(_("People reached")), tr(_("Note")), tr(_("Updated"))],
           [[r.week, place_name("region", r.region_id) if r.region_id else "—",
             place_name("district", r.district_id) if r.district_id else "—",
             r.full_name or "—", r.events_held, r.people_reached, r.note or "",
             _local(r.updated_at, period)] for r in reports],
           [12, 28, 28, 30, 12, 14, 60, 17], {1: DATE_FMT, 8: DATETIME_FMT})


def _area_sheets(wb: Workbook, scope: st.Scope, data: st.Stats,
                 districts: dict[tuple, st.AreaRow], tr: st.Translate,
                 place_name: PlaceName) -> None:
    district_rows = [(reg, row) for (reg, _dist), row in sorted(
        districts.items(), key=lambda kv: (kv[0][0] or 0, -kv[1].participation, kv[0][1] or 0))]
    cols = [*st.AREA_COLUMNS, "participation"]
    heads = [tr(st.AREA_LABELS[c]) for c in cols]
    region_rows = _region_rows(scope, data)
    unplaced = tr(_("Region not given"))
    _sheet(wb, tr(_("By region")), [tr(_("Region")), *heads],
           [[place_name("region", rid) if rid else unplaced, *[row.get(c) for c in cols]]
            for rid, row in region_rows]
           + [[tr(_("Total")), *[data.total.get(c) for c in cols]]],
           [34, *[13] * len(cols)])
    _sheet(wb, tr(_("By district")), [tr(_("Region")), tr(_("District")), *heads],
           [[place_name("region", reg) if reg else unplaced,
             place_name("district", row.area_id) if row.area_id else "—",
             *[row.get(c) for c in cols]] for reg, row in district_rows],
           [30, 34, *[13] * len(cols)])


def _challenge_sheet(wb: Workbook, period: st.Period, challenges: list[ChallengeRow],
                     tr: st.Translate) -> None:
    _sheet(wb, tr(_("Challenges")),
           ["ID", tr(_("Title")), tr(_("Type")), tr(_("Starts")), tr(_("Deadline")),
            tr(_("Joined")), tr(_("Entries submitted")), tr(_("Entries approved")),
            tr(_("Winners"))],
           [[c.id, c.title, tr(KIND_LABELS[c.kind]) if c.kind in KIND_LABELS else c.kind,
             _local(c.starts, period), _local(c.deadline, period), c.joins, c.submissions,
             c.approved, c.winners] for c in challenges],
           [7, 48, 12, 17, 17, 11, 13, 13, 11], {4: DATETIME_FMT, 5: DATETIME_FMT})


def _webinar_sheet(wb: Workbook, period: st.Period, webinars: list[WebinarRow],
                   tr: st.Translate) -> None:
    _sheet(wb, tr(_("Webinars")),
           ["ID", tr(_("Title")), tr(_("Starts")), tr(_("Status")), tr(_("Speakers")),
            tr(_("Registered")), tr(_("Attended"))],
           [[w.id, w.title, _local(w.starts, period),
             tr(webinar_status(w.status, w.starts)),
             ", ".join(w.speakers), w.registered, w.attended] for w in webinars],
           [7, 48, 17, 15, 40, 12, 12], {3: DATETIME_FMT})  # "Болдырылмады" whole


def _broadcast_sheet(wb: Workbook, period: st.Period, broadcasts: list[BroadcastRow],
                     tr: st.Translate) -> None:
    _sheet(wb, tr(_("Broadcasts")),
           ["ID", tr(_("Queued at")), tr(_("Recipients")), tr(_("Delivered")), tr(_("Failed")),
            tr(_("Blocked the bot")), tr(_("Text"))],
           [[b.id, _local(b.first_at, period), b.recipients, b.sent, b.failed, b.blocked,
             b.text] for b in broadcasts],
           [8, 17, 12, 12, 10, 14, 60], {2: DATETIME_FMT})


def _region_rows(scope: st.Scope, data: st.Stats) -> list[tuple[int, st.AreaRow]]:
    """The regions, then (country-wide) a row of those without one, so the rows add up to
    the Total row below them (issue 17)."""
    if scope.is_country:
        unplaced = [(0, data.unplaced)] if data.unplaced and any(
            data.unplaced.get(c) for c in (*st.AREA_COLUMNS, "participation")) else []
        return [(r.area_id or 0, r) for r in data.areas] + unplaced
    return [(scope.region_id or 0, data.total)]
