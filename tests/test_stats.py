"""Statistics on a small hand-built data set: exact numbers, Almaty midnight edges,
coordinator scopes, the chart, the XLSX and DOCX files, the leaderboard, the digest."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import case, func, select, update

from bot.notices.digest import digest_tick
from bot.services import charts
from bot.services import stats as st
from bot.services.demo import seed_demo
from bot.services.errors import DomainError
from db.models import ActivityLog, Delivery, OutboxPayload, User
from db.models.challenges import Challenge
from db.models.webinars import Webinar
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import make_harness


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Almaty is UTC+5: the week of Mon 2026-03-02 runs from 2026-03-01 19:00 UTC to
# 2026-03-08 19:00 UTC. The clock fixture starts at 2026-03-02 06:00 UTC (11:00 Almaty).
WEEK = "2026-03-02 2026-03-08"


@pytest.fixture
async def data(h):
    staff = await make_staff(h)
    s1 = await make_student(h, 101, org_name="School No. 1", faction="happiness")
    s2 = await make_student(h, 102, org_name="School No. 1", faction="care")
    s3 = await make_student(h, 103, district_index=1, org_name="School No. 2",
                            faction="happiness")
    s4 = await make_student(h, 104, region_code="karaganda", org_name="School No. 5",
                            faction="law_order")
    cd = await make_coordinator(h, 201, level="district")
    cr = await make_coordinator(h, 202, level="regional")

    def ev(u, kind, at, ref_type=None, ref_id=None):
        return ActivityLog(user_id=u.id, kind=kind, at=at, role=u.role, region_id=u.region_id,
                           district_id=u.district_id, org_type=u.org_type, ref_type=ref_type,
                           ref_id=ref_id)

    async with h.app.sessionmaker() as s:
        await s.execute(update(User).values(created_at=utc(2026, 2, 1)))
        s.add(Challenge(id=1, kind="contest", status="open", title_kk="Кітап – өмір",
                        title_en="Books are life", description_kk="…",
                        starts_at=utc(2026, 2, 20), deadline_at=utc(2026, 3, 20)))
        s.add(Webinar(id=1, title_kk="Медиасауаттылық", title_ru="Медиаграмотность",
                      title_en="Media literacy", description_kk="…", description_ru="…",
                      starts_at=utc(2026, 3, 5, 9), duration_min=60, join_url="https://x",
                      speakers=["Айгүл Сәрсенова", "Ерлан Қасымов"]))
        s.add(Webinar(id=2, title_kk="Тоқтатылды", title_ru="Отменён", description_kk="…",
                      description_ru="…", starts_at=utc(2026, 3, 6, 9), duration_min=60,
                      join_url="https://x", status="cancelled"))
        s.add_all([
            # previous week (2026-02-23 .. 2026-03-01 Almaty)
            ev(s1, "register", utc(2026, 2, 25, 10)),
            ev(s4, "register", utc(2026, 3, 1, 18, 59, 59)),  # Sunday 23:59:59 Almaty
            ev(s1, "challenge_join", utc(2026, 2, 26, 10), "challenge", 1),
            # this week
            ev(s2, "register", utc(2026, 3, 1, 19)),  # Monday 00:00 Almaty
            ev(s3, "register", utc(2026, 3, 3, 8)),
            ev(cd, "register", utc(2026, 3, 3, 9)),
            ev(s1, "submission", utc(2026, 3, 4, 10), "challenge", 1),
            ev(s2, "challenge_join", utc(2026, 3, 4, 11), "challenge", 1),
            ev(s3, "challenge_join", utc(2026, 3, 5, 11), "challenge", 1),
            ev(s4, "challenge_join", utc(2026, 3, 5, 12), "challenge", 1),
            ev(s1, "submission_approved", utc(2026, 3, 6, 10), "challenge", 1),
            ev(s1, "winner", utc(2026, 3, 7, 10), "challenge", 1),
            ev(s2, "webinar_register", utc(2026, 3, 6, 9), "webinar", 1),
            ev(s2, "webinar_attend", utc(2026, 3, 8, 18, 59, 59), "webinar", 1),
            ev(cd, "broadcast_sent", utc(2026, 3, 4, 6), "broadcast", 1),
            # next week (Monday 00:00 Almaty): not counted
            ev(s3, "webinar_attend", utc(2026, 3, 8, 19), "webinar", 1),
        ])
        payload = OutboxPayload(body={"kind": "text", "text": "hi"})
        s.add(payload)
        await s.flush()
        for n, (u, status, at) in enumerate([(s1, "sent", utc(2026, 3, 4, 7)),
                                             (s4, "sent", utc(2026, 3, 4, 7)),
                                             (s3, "blocked", utc(2026, 3, 4, 7)),
                                             (s2, "sent", utc(2026, 2, 27, 7))]):
            s.add(Delivery(dedup_key=f"broadcast:1::{n}", source_type="broadcast",
                           source_id=1, user_id=u.id, chat_id=u.chat_id,
                           payload_id=payload.id, status=status, created_at=at, sent_at=at))
        await s.commit()
    return {"staff": staff, "s1": s1, "s2": s2, "s3": s3, "s4": s4, "cd": cd, "cr": cr}


async def collect(h, scope, arg=WEEK):
    async with h.app.sessionmaker() as s:
        return await st.collect(s, st.parse_period(arg, h.app.now(), h.app.settings.tz), scope)


def test_periods_in_almaty_time():
    tz = ZoneInfo("Asia/Almaty")
    now = utc(2026, 3, 1, 19, 30)  # Monday 00:30 in Almaty, still Sunday in UTC
    week = st.parse_period(None, now, tz)
    assert (week.first_day, week.last_day) == (date(2026, 3, 2), date(2026, 3, 8))
    assert (week.start, week.end) == (utc(2026, 3, 1, 19), utc(2026, 3, 8, 19))
    assert week.previous().first_day == date(2026, 2, 23)
    month = st.parse_period("month", now, tz)
    assert (month.first_day, month.last_day, month.days) == (date(2026, 3, 1),
                                                             date(2026, 3, 31), 31)
    assert month.previous().first_day == date(2026, 1, 29)  # the same length: 31 days
    assert st.parse_period("year", now, tz).days == 365
    assert st.parse_period("2025", now, tz).first_day == date(2025, 1, 1)
    days = st.parse_period("2026-03-05 2026-03-05", now, tz)
    assert (days.start, days.end) == (utc(2026, 3, 4, 19), utc(2026, 3, 5, 19))
    for bad in ("fortnight", "2026-03-09 2026-03-01", "2026-13-01 2026-14-01", "a b c"):
        with pytest.raises(DomainError):
            st.parse_period(bad, now, tz)


async def test_country_counts_and_midnight_edges(h, data):
    stats = await collect(h, st.Scope())
    cur, prev = stats.current, stats.previous
    assert {k: cur[k] for k in ("reg_student", "reg_coordinator", "reg_staff", "active")} == {
        "reg_student": 2, "reg_coordinator": 1, "reg_staff": 0, "active": 5}
    assert {k: cur[k] for k in ("joins", "submissions", "approved", "rejected", "winners",
                                "webinar_regs", "attendance", "broadcasts")} == {
        "joins": 3, "submissions": 1, "approved": 1, "rejected": 0, "winners": 1,
        "webinar_regs": 1, "attendance": 1, "broadcasts": 1}
    assert (cur["webinars_held"], cur["speakers"]) == (1, 2)
    assert (cur["coord_regional"], cur["coord_district"]) == (1, 1)
    assert (cur["delivered"], cur["blocked"]) == (2, 1)
    assert (prev["reg_student"], prev["active"], prev["joins"], prev["delivered"]) == (2, 2, 1, 1)
    abai = h.app.places.find_region("abai").id
    rows = {r.area_id: r for r in stats.areas}
    assert stats.areas[0].area_id == abai
    assert (rows[abai].get("registrations"), rows[abai].get("active"),
            rows[abai].participation) == (3, 4, 4)
    assert stats.total.participation == 5
    assert stats.trend.registrations[-2:] == [2, 3]  # the previous week, this week
    assert stats.trend.attendance[-1] == 1


async def test_coordinator_scopes(h, data):
    district = await collect(h, st.scope_of("coordinator", data["cd"]))
    assert {k: district.current[k] for k in (
        "reg_student", "reg_coordinator", "active", "joins", "submissions", "attendance",
        "coord_district", "coord_regional", "delivered", "blocked")} == {
        "reg_student": 1, "reg_coordinator": 1, "active": 3, "joins": 1, "submissions": 1,
        "attendance": 1, "coord_district": 1, "coord_regional": 0, "delivered": 1,
        "blocked": 0}
    assert [r.area_id for r in district.areas] == [data["cd"].district_id]
    region = await collect(h, st.scope_of("coordinator", data["cr"]))
    assert (region.current["active"], region.current["joins"],
            region.current["coord_regional"], region.current["coord_district"]) == (4, 2, 1, 1)
    assert {r.area_id for r in region.areas} == {data["s1"].district_id,
                                                  data["s3"].district_id}
    with pytest.raises(DomainError):
        st.scope_of("student", data["s1"])


async def test_stats_command_replies_with_numbers_and_a_chart(h, data):
    staff = h.user(STAFF_ID)
    await staff.send("/stats " + WEEK)
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert "Statistics: 02.03.2026 – 08.03.2026" in text
    assert "Parliament members: <b>2</b> (±0)" in text
    assert "Active users: <b>5</b> (+3, +150%)" in text
    assert "Joined: <b>3</b> (+2, +200%)" in text
    assert "1. Abai Region: 3 / 4 / 4" in text
    png = h.api.of("sendPhoto", STAFF_ID)[-1].files["photo"]
    assert png.startswith(b"\x89PNG") and 20_000 < len(png) < 1_000_000
    assert Image.open(io.BytesIO(png)).size == (1200, 550)


async def test_district_coordinator_sees_only_the_district_and_students_none(h, data):
    coordinator = h.user(201)
    await coordinator.send("/stats " + WEEK)
    text = h.api.of("sendMessage", 201)[-1].params["text"]
    assert "Active users: <b>3</b>" in text and "Karaganda" not in text
    student = h.user(101)
    await student.send("/stats")
    assert not h.api.of("sendPhoto", 101)
    assert "Statistics" not in student.last_text()


async def test_numbers_in_kazakh_and_a_kazakh_chart(h, data):
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == STAFF_ID).values(locale="kk"))
        await s.commit()
    h.app.users.forget(STAFF_ID)
    await h.user(STAFF_ID).send("/stats " + WEEK)
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert "Парламент мүшелері: <b>2</b>" in text and "Бүкіл ел" in text
    stats = await collect(h, st.Scope())

    def tr(msgid):
        return h.app.i18n.t("kk", msgid)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font" would raise
        png = charts.stats_chart(stats, lambda m: tr(m) + " ӘҒҚҢӨҰҮҺІ",
                                 st.place_namer(h.app.places, "kk"))
    assert png.startswith(b"\x89PNG")


async def test_export_xlsx_reads_back(h, data):
    await h.user(STAFF_ID).send("/export_stats " + WEEK)
    call = h.api.of("sendDocument", STAFF_ID)[-1]
    assert call.params["document"] == "attach://document"
    wb = load_workbook(io.BytesIO(call.files["document"]))
    assert wb.sheetnames == ["Summary", "By region", "By district", "Challenges", "Webinars",
                             "Broadcasts", "Weekly reports"]
    summary = wb["Summary"]
    assert summary["B1"].value == "This period"
    assert summary["B2"].value == datetime(2026, 3, 2)
    assert summary["B2"].number_format == "DD.MM.YYYY"
    # each period's dates under its own column (seen rendered: they were side by side)
    dates = [r[:3] for r in summary.iter_rows(min_row=2, max_row=3, values_only=True)]
    assert dates == [("First day", datetime(2026, 3, 2), datetime(2026, 2, 23)),
                     ("Last day", datetime(2026, 3, 8), datetime(2026, 3, 1))]
    labels_fit(summary)
    values = {r[0]: r[1:4] for r in summary.iter_rows(min_row=4, values_only=True)}
    assert values["Registrations: Parliament members"] == (2, 2, 0)
    assert values["Registrations: Active users"] == (5, 2, 3)
    regions = list(wb["By region"].iter_rows(min_row=2, values_only=True))
    assert regions[0][0] == "Abai Region" and regions[-1][0] == "Total"
    challenge = list(wb["Challenges"].iter_rows(min_row=2, values_only=True))
    assert challenge == [(1, "Books are life", "Contest", datetime(2026, 2, 20, 5),
                          datetime(2026, 3, 20, 5), 3, 1, 1, 1)]
    assert wb["Challenges"]["D2"].number_format == "DD.MM.YYYY HH:MM"
    webinars = list(wb["Webinars"].iter_rows(min_row=2, values_only=True))
    assert webinars[0][:3] == (1, "Media literacy", datetime(2026, 3, 5, 14))
    assert "Айгүл Сәрсенова" in webinars[0][4]
    broadcasts = list(wb["Broadcasts"].iter_rows(min_row=2, values_only=True))
    assert broadcasts == [(1, datetime(2026, 3, 4, 12), 3, 2, 0, 1, None)]


def labels_fit(summary) -> None:
    """Seen rendered: the indicator column cut "Offline work (…): Events held" and "…: People
    reached" to the same words. Column A is as wide as its longest label."""
    longest = max(len(str(c.value or "")) for (c,) in summary.iter_rows(max_col=1))
    assert summary.column_dimensions["A"].width >= min(100, longest + 2)
    # and a header that wraps ("Предыдущий период" in 16) has the row height of its lines
    from bot.services.xlsx import wrapped

    lines = max(len(wrapped(c.value, summary.column_dimensions[c.column_letter].width))
                for c in summary[1])
    assert (summary.row_dimensions[1].height or 15) >= 15 * lines


async def test_coordinator_export_is_scoped(h, data):
    await h.user(201).send("/export_stats " + WEEK)
    wb = load_workbook(io.BytesIO(h.api.of("sendDocument", 201)[-1].files["document"]))
    districts = list(wb["By district"].iter_rows(min_row=2, values_only=True))
    assert len(districts) == 1
    values = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=4, values_only=True)}
    assert values["Registrations: Active users"] == 3


def docx_tables(doc) -> dict[str, list[list[str]]]:
    """Each table by the heading above it."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    found, heading = {}, ""
    for block in doc.element.body.iterchildren():
        if block.tag.endswith("}p"):
            paragraph = Paragraph(block, doc)
            if paragraph.style.name.startswith("Heading"):
                heading = paragraph.text
        elif block.tag.endswith("}tbl"):
            found[heading] = [[c.text for c in row.cells] for row in Table(block, doc).rows]
    return found


def column_sums_to_total(table: list[list[str]]) -> None:
    """Every numeric column of the rows before the last adds up to the last (Total) row."""
    *rows, total = table[1:]
    for col in range(1, len(total)):
        if total[col].replace(" ", "").replace("\xa0", "").isdigit():
            assert sum(int(r[col].replace(" ", "").replace("\xa0", "") or 0)
                       for r in rows) == int(total[col].replace(" ", "").replace("\xa0", "")), (
                table[0][col], table)


async def test_annual_report_docx(h, data):
    await h.user(STAFF_ID).send("/report 2026")
    doc = Document(io.BytesIO(h.api.of("sendDocument", STAFF_ID)[-1].files["document"]))
    assert "results of 2026" in doc.paragraphs[0].text
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    totals = {row[0]: row[1:] for row in tables[0]}
    assert totals["Registrations: Parliament members"] == ["4", "0"]
    quarters = {row[0]: row[1:] for row in tables[1]}
    assert quarters["Parliament members"] == ["4", "0", "0", "0"]
    assert tables[2][-1][0] == "Total"
    assert tables[3][1][:3] == ["Books are life", "Contest", "20.02.2026"]
    assert tables[4][1][0] == "Media literacy" and "Ерлан Қасымов" in tables[4][1][4]
    assert any(r[0].endswith("(Cancelled)") for r in tables[4])


async def test_leaderboard_points_and_places(h, data):
    async with h.app.sessionmaker() as s:
        board = await st.leaderboard(s, st.Scope(), st.parse_period(
            "2026-01-01 2026-12-31", h.app.now(), h.app.settings.tz))
    orgs = [(r.key[2], r.points) for r in board.boards["orgs"]]
    assert orgs == [("School No. 1", 18), ("School No. 2", 2), ("School No. 5", 1)]
    assert [r.points for r in board.boards["regions"]] == [20, 1]
    assert [(r.key[0], r.points) for r in board.boards["factions"]] == [
        ("happiness", 18), ("care", 2), ("law_order", 1)]
    student = h.user(103)
    await student.send("/leaderboard 2026-01-01 2026-12-31")  # students get the kept ones
    assert "Write week, month or year" in student.last_text()
    await student.send("/leaderboard year")  # 2026: the same period
    text = student.last_text()
    assert "School No. 2" in text and ": 2 points." in text
    assert "Place in the country: 2 of 3." in text and "Place in your district: 1 of 1." in text
    await h.user(201).send("/leaderboard 2026-01-01 2026-12-31")
    text = h.api.last(201).text
    assert "School No. 1" in text and "School No. 2" not in text  # another district
    await h.user(STAFF_ID).send("/leaderboard challenge 1")
    text = h.api.last(STAFF_ID).text
    assert "1. School No. 1" in text
    assert text.startswith("🏆 <b>Leaderboard: No. 1 «")  # the contest by name, not "challenge"
    assert "webinar" not in text  # one contest's points have no webinars


async def test_weekly_digest_once_a_week_across_restarts(h, data, clock, tmp_path):
    other = await make_staff(h, 901)
    await h.user(901).send("/digest off")
    assert "switched off" in h.api.last(901).text
    clock.value = utc(2026, 3, 9, 3, 59)  # Monday 08:59 Almaty
    assert await digest_tick(h.app) == 0
    clock.value = utc(2026, 3, 9, 4, 0)  # 09:00
    assert await digest_tick(h.app) == 2  # text and chart, to staff 900 only
    assert await digest_tick(h.app) == 0
    again = await make_harness(str(tmp_path / "bot.db"), clock,
                               staff_ids=frozenset({STAFF_ID}))
    try:
        clock.advance(hours=5)
        assert await digest_tick(again.app) == 0  # after a restart: still once
    finally:
        await again.close()
    await h.drain()
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert "Statistics: 02.03.2026 – 08.03.2026" in text and "/digest off" in text
    picture = h.api.of("sendDocument", STAFF_ID)[-1]
    assert picture.files["document"].startswith(b"\x89PNG")
    assert not h.api.of("sendMessage", other.tg_id)[1:]
    async with h.app.sessionmaker() as s:
        rows = await s.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.source_type == "digest"))
    assert rows == 2
    clock.value = utc(2026, 3, 16, 4, 0)  # the next Monday
    assert await digest_tick(h.app) == 2
    clock.value = utc(2026, 3, 24, 4, 0)  # a bot down all Monday: no stale digest on Tuesday
    assert await digest_tick(h.app) == 0


async def test_demo_data_is_reproducible(tmp_path, clock):
    counts = []
    for n in (1, 2):
        harness = await make_harness(str(tmp_path / f"demo{n}.db"), clock)
        try:
            made = await seed_demo(harness.app.sessionmaker, 300, 3000, seed=7,
                                   now=utc(2026, 3, 2))
            async with harness.app.sessionmaker() as s:
                stats = await st.collect(s, st.parse_period("year", utc(2026, 3, 2),
                                                            harness.app.settings.tz),
                                         st.Scope())
            counts.append((made, stats.current))
        finally:
            await harness.close()
    assert counts[0] == counts[1]
    assert counts[0][0]["users"] == 300 and counts[0][0]["events"] == 3000
    assert counts[0][1]["active"] > 50


async def test_erased_users_still_count(h, data):
    before = (await collect(h, st.Scope())).current
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == data["s3"].id).values(
            status="erased", tg_id=None, chat_id=None, org_name=None, full_name=None))
        await s.commit()
    after = (await collect(h, st.Scope())).current
    assert after == before and after["reg_student"] == 2


async def test_wrong_period_and_year_are_explained(h, data):
    staff = h.user(STAFF_ID)
    await staff.send("/stats last-week")
    assert "two dates" in staff.last_text()
    await staff.send("/stats 2026-12-01 2026-01-01")
    assert "The second date comes before the first" in staff.last_text()
    await staff.send("/report twenty")
    assert "/report 2026" in staff.last_text()
    assert not h.api.of("sendDocument", STAFF_ID)


async def test_a_student_s_wrong_leaderboard_request_is_explained_in_their_terms(h, data):
    student = h.user(data["s1"].tg_id)
    await student.send("/leaderboard xyz")
    text = student.last_text()
    assert "/leaderboard challenge 12" in text and "/stats" not in text
    await student.send("/leaderboard challenge 99")
    assert student.last_text() == "Not found. It may have been deleted."


async def test_a_webinar_later_in_the_period_is_not_counted_as_held(h):
    from datetime import timedelta

    from bot.services.reports import webinar_status

    now = datetime.now(UTC)  # "held" is judged against the real clock, as the log is
    async with h.app.sessionmaker() as s:
        for n, start in ((1, now - timedelta(hours=2)), (2, now + timedelta(hours=2))):
            s.add(Webinar(id=n, title_kk=f"W{n}", title_ru=f"W{n}", description_kk="…",
                          description_ru="…", starts_at=start, duration_min=60,
                          join_url="https://x.kz", speakers=[f"Speaker {n}"]))
        await s.commit()
        today = now.astimezone(h.app.settings.tz).date()
        period = st.parse_period(f"{today - timedelta(days=1)} {today + timedelta(days=1)}",
                                 now, h.app.settings.tz)
        counts = (await st.collect(s, period, st.Scope(), with_trend=False)).current
    assert (counts["webinars_held"], counts["speakers"]) == (1, 1)
    assert [webinar_status("scheduled", now - timedelta(hours=2)),
            webinar_status("scheduled", now + timedelta(hours=2)),
            webinar_status("cancelled", now - timedelta(hours=2))] == [
        "Held", "Scheduled", "Cancelled"]


async def python_leaderboard(session, scope, period=None, challenge_id=None,
                             boards=st.BOARDS) -> st.Leaderboard:
    """The rankings as they were added up in Python before the database did it (the
    reference: one person's points go to each of their current keys; cleared wins count
    nowhere; a key needs every part; ties by key)."""
    a = ActivityLog
    points = case(*[(a.kind == k, v) for k, v in st.POINTS.items()], else_=0)
    conds = [a.kind.in_(st.POINTS), a.user_id.is_not(None)]
    if period is not None:
        conds += [a.at >= period.start, a.at < period.end]
    if challenge_id is not None:
        conds += [a.kind != "webinar_attend", a.ref_id == challenge_id]
    per_user = select(a.user_id.label("uid"), func.sum(points).label("pts")).where(
        *conds).group_by(a.user_id).subquery()
    scored = (await session.execute(
        select(per_user.c.uid, per_user.c.pts, User.region_id, User.district_id,
               User.org_name, User.faction).join(User, User.id == per_user.c.uid)
        .where(*scope.filters(User.region_id, User.district_id)))).all()
    undone: dict[int, int] = {}
    for win in await st.undone_wins(session, *conds):
        undone[win.user_id] = undone.get(win.user_id, 0) + st.POINTS["winner"]
    result = {}
    for board in boards:
        scores: dict[tuple, int] = {}
        for row in scored:
            key = tuple(getattr(row, k) for k in st.BOARD_KEYS[board])
            pts = int(row.pts or 0) - undone.get(row.uid, 0)
            if pts and all(v is not None for v in key):
                scores[key] = scores.get(key, 0) + pts
        ranked = [st.BoardRow(k, p) for k, p in scores.items()]
        ranked.sort(key=lambda r: (-r.points, tuple(str(v) for v in r.key)))
        result[board] = ranked
    return st.Leaderboard(result)


async def test_leaderboard_in_sql_equals_the_python_sums(h):
    """The database adds the rankings up (one statement): the same rows, points and order
    as the Python sums, for periods, challenges and scopes, with a cleared win in it."""
    now = utc(2026, 3, 2)
    await seed_demo(h.app.sessionmaker, 400, 4000, seed=11, now=now)
    tz = h.app.settings.tz
    async with h.app.sessionmaker() as s:
        winner = await s.scalar(select(User).where(User.role == "student",
                                                   User.org_name.is_not(None)).limit(1))
        challenge_id = await s.scalar(select(func.min(ActivityLog.ref_id)).where(
            ActivityLog.kind == "challenge_join"))
        s.add_all([ActivityLog(kind="winner", user_id=winner.id, ref_id=challenge_id,
                               at=utc(2026, 2, 20), extra={"submission_id": 99_001}),
                   ActivityLog(kind="winner_cleared", ref_id=challenge_id,
                               at=utc(2026, 2, 21), extra={"submission_id": 99_001})])
        await s.commit()
        scopes = [st.Scope(), st.Scope(winner.region_id),
                  st.Scope(winner.region_id, winner.district_id)]
        asked = [(None, None), (st.parse_period("year", now, tz), None),
                 (st.parse_period("week", now, tz), None), (None, challenge_id),
                 (st.parse_period("month", now, tz), challenge_id)]
        compared = 0
        for scope in scopes:
            for period, cid in asked:
                sql = await st.leaderboard(s, scope, period, cid)
                assert sql == await python_leaderboard(s, scope, period, cid)
                compared += sum(len(rows) for rows in sql.boards.values())
    assert compared > 500  # rankings with rows in them, not empty ones that agree


# --- /report YEAR: the structure the centre's annual report needs (issue 17) -------------

async def _report_world(h, data) -> None:
    """On top of `data`: a contest with two nominations (and an entry without one), an
    erased member's activity without a region or faction, a college coordinator."""
    from db.models.challenges import ChallengeOption, ChallengeParticipant, Submission

    await make_coordinator(h, 203, level="regional", org_type="college")
    async with h.app.sessionmaker() as s:
        s.add(Challenge(id=2, kind="contest", status="judged", title_kk="Шексіз шығармашылық",
                        title_ru="Безграничное творчество", title_en="Boundless creativity",
                        description_kk="…", starts_at=utc(2026, 1, 22),
                        deadline_at=utc(2026, 2, 26)))
        s.add_all([ChallengeOption(id=11, challenge_id=2, kind="nomination", sort=1,
                                   name_kk="Суреттер", name_ru="Рисунки", name_en="Drawings"),
                   ChallengeOption(id=12, challenge_id=2, kind="nomination", sort=2,
                                   name_kk="Алтын қолдар", name_ru="Золотые руки",
                                   name_en="Golden hands")])
        await s.flush()
        for n, (uid, nomination, status, place) in enumerate([
                (data["s1"].id, 11, "approved", "1"), (data["s2"].id, 11, "approved", None),
                (data["s3"].id, 12, "approved", "diploma"), (data["s4"].id, 12, "rejected", None),
                (data["s4"].id, None, "approved", None)]):
            s.add(Submission(challenge_id=2, user_id=uid, nomination_id=nomination,
                             status=status, place=place, content_kind="text", text=f"{n}"))
        for uid in {data["s1"].id, data["s2"].id, data["s3"].id, data["s4"].id}:
            s.add(ChallengeParticipant(challenge_id=2, user_id=uid))
        # an erased member: their rows stay, without a person, region or organisation
        s.add_all([ActivityLog(user_id=None, kind="register", at=utc(2026, 4, 2), role="student"),
                   ActivityLog(user_id=None, kind="challenge_join", at=utc(2026, 4, 3),
                               role="student", ref_type="challenge", ref_id=2)])
        await s.commit()


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_annual_report_has_what_the_centres_report_states(h, data, lang):
    await _report_world(h, data)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == STAFF_ID).values(locale=lang))
        await s.commit()
    h.app.users.forget(STAFF_ID)
    await h.user(STAFF_ID).send("/report 2026")
    sent = h.api.of("sendDocument", STAFF_ID)[-1]
    doc = Document(io.BytesIO(sent.files["document"]))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert doc.inline_shapes, "the chart is in the document"
    tables = docx_tables(doc)
    t = h.app.i18n.t

    def T(msgid: str) -> str:
        return t(lang, msgid)

    assert T("By faction") != "By faction" or lang == "en"  # in the staff member's language
    # regions: every row, then those without a region, add up to the total
    regions = tables[T("By region")]
    assert [r[0] for r in regions[-2:]] == [T("Region not given"), T("Total")]
    column_sums_to_total(regions)
    # each challenge's participants, each contest's entries and winners
    challenges = {r[0]: r for r in tables[T("Challenges, actions and contests")][1:]}
    title = {"kk": "Шексіз шығармашылық", "ru": "Безграничное творчество"}[lang]
    assert challenges[title][3:] == ["4", "5", "2"]
    # a contest's entries by nomination, with the entry without one, adding up
    nominations = [r for r in tables[T("Contest entries by nomination")] if r[0] == title]
    names = {"kk": ["Суреттер", "Алтын қолдар"], "ru": ["Рисунки", "Золотые руки"]}[lang]
    assert [r[1] for r in nominations] == [*names, T("Without a nomination"), T("Total")]
    assert [r[2:] for r in nominations] == [["2", "2", "1"], ["2", "1", "1"], ["1", "1", "0"],
                                            ["5", "4", "2"]]
    # factions and organisation types: a "not given" row for the erased member, and totals
    factions = tables[T("By faction")]
    assert T("Happiness") in [r[0] for r in factions] and factions[-2][0] == T("Not given")
    column_sums_to_total(factions)
    org_types = tables[T("By type of organisation")]
    column_sums_to_total(org_types)
    assert org_types[-1][1] == factions[-1][1]  # the same registrations, told two ways
    # coordinators per level and parliament (2021: regional 17 / district 216 ...)
    coordinators = {r[0]: r[1:] for r in tables[T("Coordinators by level")]}
    assert coordinators[T("Regional level")] == ["1", "1", "0", "2"]
    assert coordinators[T("District (city) level")] == ["1", "0", "0", "1"]
    assert coordinators[T("Total")] == ["2", "1", "0", "3"]
    # webinars and their attendance, with a total row
    webinars = tables[T("Webinars")]
    assert webinars[-1][0] == T("Webinars in total: {count}").format(count=1)
    roles = {r[0]: r[1] for r in tables[T("Webinar attendance by role")]}
    assert roles[T("Students")] == "2" and roles[T("Total")] == "2"  # as the log has them
    no_word_is_broken(doc)


def no_word_is_broken(doc) -> None:
    """Seen rendered (docs/stop-evidence): the faction and organisation tables broke their
    headers mid-word ("Тіркелген|дер", "Регистрац|ии"). Every column of every table is as
    wide as its longest word needs (bold Times: about 0.2 mm per letter and point, 4 mm of
    cell margins), and the table fits between the margins."""
    from docx.table import Table

    for block in doc.element.body.iterchildren():
        if not block.tag.endswith("}tbl"):
            continue
        table = Table(block, doc)
        widths = [c.width.mm for c in table.rows[0].cells]
        assert sum(widths) <= 170.5, widths
        for row in table.rows:
            for i, cell in enumerate(row.cells[1:], start=1):
                size = cell.paragraphs[0].runs[0].font.size.pt if cell.text else 9.5
                longest = max((len(w) for w in cell.text.split()), default=0)
                assert widths[i] >= longest * size * 0.2 + 4 - 0.1, (cell.text, widths[i], size)
