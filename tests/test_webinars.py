"""Webinars: the wizard, registration, capacity, reminders that never miss nor repeat,
restarts, time changes, cancellation, attendance, the .ics file and the export."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.callbacks import WebinarAdminCD, WebinarCD
from bot.notices.webinars import webinar_reminders_tick
from bot.services import webinars as svc
from bot.services.errors import DomainError
from bot.services.users import load_user_info
from db.models import ActivityLog, Delivery, Webinar, WebinarReminder
from handlers.webinars.browse import my_webinars_text
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import make_harness

# The clock fixture starts at 2026-03-02 06:00 UTC (11:00 in Almaty, UTC+5).
START = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)  # 12.03.2026 15:00 Almaty


async def new_webinar(h, *, starts_at=START, capacity=None, audience=None,
                      offsets=svc.DEFAULT_OFFSETS, duration=90) -> int:
    async with h.app.sessionmaker() as s:
        webinar = await svc.create_webinar(s, {
            "title_kk": "Көшбасшылық мектебі", "title_ru": "Школа лидерства",
            "title_en": "Leadership school", "description_kk": "Сипаттама",
            "description_ru": "Описание", "description_en": "About leadership",
            "starts_at": starts_at.isoformat(), "duration_min": duration,
            "join_url": "https://zoom.us/j/123456", "speakers": ["Aliya", "Bolat"],
            "audience": audience or {}, "capacity": capacity,
            "reminder_offsets": list(offsets)}, None, h.app.now())
        await s.commit()
        return webinar.id


async def register(h, tg_id: int, webinar_id: int) -> None:
    await h.user(tg_id).press(WebinarCD(action="reg", id=webinar_id).pack())


async def tick_and_drain(h) -> int:
    queued = await webinar_reminders_tick(h.app)
    await h.drain()
    return queued


def received(h, tg_id: int, fragment: str) -> list[str]:
    return [t for t in h.api.texts(tg_id) if fragment in t]


# --- the wizard -------------------------------------------------------------------------

async def test_wizard_validates_previews_publishes_and_announces(h):
    await make_staff(h)
    await make_student(h, 101)
    await make_student(h, 102, locale="ru")
    await make_coordinator(h, 201)
    staff = h.user(900)
    await staff.send("/newwebinar")
    assert "Kazakh" in staff.last_text()
    await staff.send("Көшбасшылық мектебі")
    await staff.send("Школа лидерства")
    await staff.click("Skip")
    await staff.send("Жас көшбасшыларға арналған вебинар")
    await staff.send("Вебинар для юных лидеров")
    await staff.click("Skip")
    await staff.send("next Tuesday")
    assert "could not read this date" in staff.last_text()
    await staff.send("01.03.2026 10:00")
    assert "already passed" in staff.last_text()
    await staff.send("12.03.2026 15:00")
    await staff.send("forever")
    assert "duration in minutes" in staff.last_text()
    await staff.send("1:30")
    await staff.send("zoom meeting 123")
    assert "does not look like a link" in staff.last_text()
    await staff.send("https://zoom.us/j/123456")
    await staff.send("Aliya Nurlanovna\nBolat Serikov\nDana Askarova")
    await staff.click("Parliament member (student)")
    assert "✅ Parliament member (student)" in staff.buttons()
    await staff.click("Done")
    await staff.click("No limit")
    await staff.click("Default")
    preview = staff.last_text()
    assert "Preview" in preview and "12.03.2026 15:00" in preview
    assert "Speakers (3)" in preview and "90 min" in preview
    assert "Школа лидерства" in preview  # en falls back to ru
    await staff.click("Publish and announce")
    assert "Published as webinar No." in staff.texts()[-2]
    assert "announcement is queued for 2 people" in staff.texts()[-2]
    async with h.app.sessionmaker() as s:
        webinar = await s.scalar(select(Webinar))
        assert webinar.starts_at == START and webinar.duration_min == 90
        assert webinar.speakers == ["Aliya Nurlanovna", "Bolat Serikov", "Dana Askarova"]
        assert webinar.audience == {"roles": ["student"]}
        reminders = (await s.scalars(select(WebinarReminder).order_by(
            WebinarReminder.due_at))).all()
        assert [(r.offset_min, r.due_at) for r in reminders] == [
            (1440, START - timedelta(days=1)), (60, START - timedelta(hours=1)), (0, START)]
        assert await s.scalar(select(ActivityLog.kind).where(
            ActivityLog.ref_type == "webinar")) == "webinar_published"
    await h.drain()
    assert received(h, 101, "New webinar")
    assert received(h, 102, "Школа лидерства")
    assert not h.api.texts(201)  # a coordinator is not in the audience


async def walk_to_preview(staff, starts: str) -> None:
    """/newwebinar up to the preview: titles, descriptions, `starts` (Almaty), defaults."""
    await staff.send("/newwebinar")
    for answer in ("Көшбасшылық мектебі", "Школа лидерства", "Skip", "Сипаттама",
                   "Описание", "Skip", starts, "90", "https://zoom.us/j/123456", "Skip",
                   "Done", "No limit", "Default"):
        if answer in ("Skip", "Done", "No limit", "Default"):
            await staff.click(answer)
        else:
            await staff.send(answer)
    assert "Preview" in staff.last_text()


async def test_publishing_after_the_start_has_passed_asks_for_the_time_again(h, clock):
    await make_staff(h)
    staff = h.user(900)
    await walk_to_preview(staff, "02.03.2026 12:00")  # an hour after the clock's 11:00
    clock.advance(hours=2)
    await staff.click("Publish without announcing")
    assert "already passed" in staff.texts()[-2]
    assert "Step 7 of 13. When does it start?" in staff.last_text()
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(Webinar))).all() == []
    await staff.send("12.03.2026 15:00")  # the wizard goes on from there
    assert "How long will it last?" in staff.last_text()


async def test_a_wizard_button_after_the_draft_is_gone_is_no_longer_active(h):
    await make_staff(h)
    staff = h.user(900)
    await walk_to_preview(staff, "12.03.2026 15:00")
    await staff.click("Discard")
    assert staff.last_text() == "The draft is discarded."
    await staff.click("Publish without announcing")
    answer = h.api.of("answerCallbackQuery", None)[-1].params
    assert answer.get("text") == "This button is no longer active."
    assert answer.get("show_alert") is True
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(Webinar))).all() == []


async def test_a_webinar_for_others_is_not_found_and_cannot_be_joined(h):
    wid = await new_webinar(h, audience={"roles": ["coordinator"]})
    await make_student(h, 101)
    student = h.user(101)
    await student.press(WebinarCD(action="open", id=wid).pack())
    assert "Not found" in student.last_text()
    await register(h, 101, wid)
    assert "Not found" in student.last_text()
    async with h.app.sessionmaker() as s:
        assert await svc.webinar_registrant_ids(s, wid) == []


async def test_export_needs_a_number_in_ordinary_digits(h):
    await make_staff(h)
    staff = h.user(900)
    await staff.send("/export_webinar ١٢")
    assert "ordinary digits 0–9" in staff.last_text()
    await staff.send("/export_webinar 999")
    assert "Not found" in staff.last_text()


def test_iso_date_form_is_accepted():
    now, tz = datetime(2026, 3, 2, 6, 0, tzinfo=UTC), ZoneInfo("Asia/Almaty")
    assert svc.parse_local_datetime("2026-03-12 15:00", tz, now) == START
    assert svc.parse_local_datetime(" 12.03.2026, 15.00 ", tz, now) == START


def test_parsers():
    assert svc.parse_duration("90") == 90
    assert svc.parse_duration("1,5 ч") == 90
    assert svc.parse_duration("2h") == 120
    assert svc.parse_duration("1:45") == 105
    with pytest.raises(DomainError):
        svc.parse_duration("1:75")  # not 135 minutes: a typo
    assert svc.parse_offsets("24h, 1h, 0") == [1440, 60, 0]
    assert svc.parse_offsets("1d 30m") == [1440, 30]
    assert svc.parse_offsets("24ч, 15мин, 0") == [1440, 15, 0]
    assert svc.parse_capacity("350") == 350 and svc.parse_capacity("-") is None
    for bad in ("0", "²", "-5"):
        with pytest.raises(DomainError):
            svc.parse_capacity(bad)
    assert svc.parse_speakers("A, B; C") == ["A", "B", "C"]
    for bad in ("zoom.us", "https://", "ftp://x.kz", "https://zoom us/j", "http://zoom.us/j/1"):
        try:
            svc.parse_url(bad)
        except Exception as exc:  # DomainError
            assert exc.code == "wb_url"
        else:
            raise AssertionError(bad)


# --- participants -----------------------------------------------------------------------

async def test_list_register_twice_and_capacity(h):
    await make_student(h, 101)
    await make_student(h, 102)
    await make_coordinator(h, 201)
    wid = await new_webinar(h, capacity=1, audience={"roles": ["student"]})
    u = h.user(101)
    await u.send("/webinars")
    assert "12.03.2026 15:00" in u.last_text() and "Leadership school" in u.last_text()
    await u.click("Leadership school")
    assert "Registered: 0 of 1 place" in u.last_text() and "1 places" not in u.last_text()
    await u.click("Register")
    assert "You are registered" in u.texts()[-2]
    assert "❎ Unregister" in u.buttons() and "📅 Add to calendar" in u.buttons()
    await register(h, 101, wid)
    assert "already registered" in u.texts()[-2]
    await register(h, 102, wid)
    assert "all places for this webinar are taken" in h.user(102).last_text()
    coordinator = h.user(201)
    await coordinator.send("/webinars")
    assert "no upcoming webinars" in coordinator.last_text()
    await u.click("Unregister")
    await register(h, 102, wid)
    assert "You are registered" in h.user(102).texts()[-2]
    async with h.app.sessionmaker() as s:
        kinds = (await s.scalars(select(ActivityLog.kind).where(
            ActivityLog.ref_type == "webinar", ActivityLog.ref_id == wid)
            .order_by(ActivityLog.id))).all()
        assert kinds == ["webinar_published", "webinar_register", "webinar_unregister",
                         "webinar_register"]
        assert await svc.webinar_registrant_ids(s, wid) != []


async def test_places_cannot_drop_below_the_registered_and_the_limit_can_be_lifted(h):
    await make_staff(h)
    for tg in (101, 102):
        await make_student(h, tg)
    wid = await new_webinar(h, capacity=2)
    for tg in (101, 102):
        await register(h, tg, wid)
    s = h.user(900)
    await s.press(WebinarAdminCD(action="field", id=wid, value="capacity").pack())
    assert s.buttons() == ["No limit"]  # the prompt's button is there when editing too
    await s.send("1")
    assert s.last_text() == "Already registered: 2. There cannot be fewer places than that."
    await s.click("No limit")
    assert "Saved." in " ".join(s.texts()[-3:])
    async with h.app.sessionmaker() as db:
        assert (await db.get(Webinar, wid)).capacity is None


async def test_my_webinars_block(h):
    student = await make_student(h, 101)
    wid = await new_webinar(h)
    async with h.app.sessionmaker() as s:
        info = await load_user_info(s, h.app.users, 101)
        assert await my_webinars_text(s, h.app, info, "en") == ""
    await register(h, 101, wid)
    async with h.app.sessionmaker() as s:
        text = await my_webinars_text(s, h.app, info, "en")
    assert student.id == info.id
    assert "My webinars" in text and "12.03.2026 15:00 — Leadership school" in text


# --- reminders --------------------------------------------------------------------------

async def test_reminders_at_each_offset_in_each_language(h, clock):
    await make_student(h, 101)
    await make_student(h, 102, locale="ru")
    await make_student(h, 103, locale="kk")
    wid = await new_webinar(h)
    for tg in (101, 102):
        await register(h, tg, wid)
    assert await tick_and_drain(h) == 0
    clock.value = START - timedelta(hours=24)
    assert await tick_and_drain(h) == 2
    assert len(received(h, 101, "starts in 24 h")) == 1
    assert len(received(h, 102, "24 ч")) == 1
    assert "https://zoom.us/j/123456" in received(h, 101, "starts in 24 h")[0]
    await register(h, 103, wid)  # after the 24-hour reminder: it does not come late
    clock.advance(minutes=1)
    assert await tick_and_drain(h) == 0
    assert not [t for t in h.api.texts(103) if "24" in t]
    clock.value = START - timedelta(minutes=59)
    assert await tick_and_drain(h) == 3
    assert len(received(h, 101, "starts in 1 h")) == 1
    assert len(received(h, 103, "1 сағ")) == 1
    clock.value = START + timedelta(seconds=30)
    assert await tick_and_drain(h) == 3
    last = h.api.last(101)
    assert "starting now" in last.text
    buttons = [b for row in last.params["reply_markup"]["inline_keyboard"] for b in row]
    assert {"url": "https://zoom.us/j/123456"}.items() <= buttons[0].items()
    assert buttons[1]["callback_data"] == WebinarCD(action="here", id=wid).pack()
    await h.user(101).click("I'm here")
    assert "attendance is recorded" in h.user(101).last_text()
    assert await tick_and_drain(h) == 0
    for tg in (101, 102, 103):
        assert len(h.api.texts(tg)) == len(set(h.api.texts(tg)))


async def test_overlapping_ticks_send_once(h, clock):
    for tg in range(101, 111):
        await make_student(h, tg)
    wid = await new_webinar(h)
    for tg in range(101, 111):
        await register(h, tg, wid)
    clock.value = START - timedelta(hours=1)
    results = await asyncio.gather(webinar_reminders_tick(h.app), webinar_reminders_tick(h.app))
    assert sorted(results) == [0, 10]  # the 1-hour one; the late 24-hour one is superseded
    await h.drain()
    for tg in range(101, 111):
        assert len(received(h, tg, "starts in 1 h")) == 1
        assert not received(h, tg, "starts in 24 h")


async def test_restart_before_start_sends_late_reminder_once(h, clock, tmp_path):
    await make_student(h, 101)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    await h.close()  # the bot is down at T-24h
    clock.value = START - timedelta(hours=3)
    h2 = await make_harness(str(tmp_path / "bot.db"), clock, staff_ids=frozenset({900}))
    try:
        assert await tick_and_drain(h2) == 1  # the 24-hour reminder, late but useful
        assert len(received(h2, 101, "starts in 3 h.")) == 1
        assert await tick_and_drain(h2) == 0
    finally:
        await h2.close()
    h3 = await make_harness(str(tmp_path / "bot.db"), clock, staff_ids=frozenset({900}))
    try:  # another restart: the same reminder is not sent again
        assert await tick_and_drain(h3) == 0
        assert not h3.api.texts(101)
    finally:
        await h3.close()


async def test_restart_after_start_skips_and_logs(h, clock, tmp_path, caplog):
    await make_student(h, 101)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    clock.value = START - timedelta(hours=23)
    assert await tick_and_drain(h) == 1  # 24-hour reminder on time
    await h.close()
    clock.value = START + timedelta(minutes=20)  # down through T-1h and the start
    h2 = await make_harness(str(tmp_path / "bot.db"), clock, staff_ids=frozenset({900}))
    try:
        assert await tick_and_drain(h2) == 0
        assert not h2.api.texts(101)
        async with h2.app.sessionmaker() as s:
            statuses = dict((await s.execute(select(
                WebinarReminder.offset_min, WebinarReminder.status))).all())
        assert statuses == {1440: "sent", 60: "skipped", 0: "skipped"}
        assert "has started; skipped" in caplog.text
    finally:
        await h2.close()


# --- staff: time change, cancellation, registrants, export --------------------------------

async def test_time_change_tells_registrants_and_moves_reminders(h, clock):
    await make_staff(h)
    await make_student(h, 101)
    await make_student(h, 102, locale="ru")
    wid = await new_webinar(h)
    await register(h, 101, wid)
    await register(h, 102, wid)
    staff = h.user(900)
    await staff.press(WebinarCD(action="open", id=wid).pack())
    await staff.click("Edit")
    await staff.click("Date and time")
    await staff.send("yesterday")
    assert "could not read" in staff.last_text()
    await staff.send("13.03.2026 16:30")
    assert "2 registrants will be told" in staff.texts()[-2]
    await h.drain()
    assert received(h, 101, "has changed")[0].count("13.03.2026 16:30") == 1
    assert received(h, 102, "изменилось")
    new_start = datetime(2026, 3, 13, 11, 30, tzinfo=UTC)
    clock.value = START - timedelta(hours=1)  # the old 1-hour mark: nothing
    assert await tick_and_drain(h) == 0
    clock.value = new_start - timedelta(hours=1)
    assert await tick_and_drain(h) == 2  # the 1-hour one (supersedes the moved 24-hour one)
    assert len(received(h, 101, "starts in 1 h")) == 1
    assert "13.03.2026 16:30" in received(h, 101, "starts in 1 h")[0]


async def test_cancellation_tells_registrants_and_stops_reminders(h, clock):
    await make_staff(h)
    await make_student(h, 101)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    staff = h.user(900)
    await staff.press(WebinarCD(action="open", id=wid).pack())
    await staff.click("Cancel the webinar")
    await staff.click("Yes, cancel it")
    assert "1 registrant will be told" in staff.last_text()
    await h.drain()
    assert received(h, 101, "has been cancelled")
    clock.value = START - timedelta(hours=1)
    assert await tick_and_drain(h) == 0
    await h.user(101).send("/webinars")
    assert "no upcoming webinars" in h.user(101).last_text()
    await register(h, 101, wid)
    assert "cancelled" in h.user(101).last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(ActivityLog.kind).where(
            ActivityLog.kind == "webinar_cancelled")) == "webinar_cancelled"
        assert not (await s.scalars(select(Delivery).where(
            Delivery.source_type == "webinar_reminder"))).all()


async def test_registrants_by_region_and_export(h, clock):
    await make_staff(h)
    await make_student(h, 101, region_code="abai")
    await make_student(h, 102, region_code="abai")
    wid = await new_webinar(h)
    await register(h, 101, wid)
    await register(h, 102, wid)
    clock.value = START
    await h.user(101).press(WebinarCD(action="here", id=wid).pack())
    staff = h.user(900)
    await staff.press(WebinarCD(action="open", id=wid).pack())
    await staff.click("Registrants")
    text = staff.last_text()
    assert "Registered: 2, attended: 1." in text and "Abai Region: 2 / 1" in text
    await staff.send(f"/export_webinar {wid}")
    call = h.api.last(900)
    assert call.method == "sendDocument"
    sheet = load_workbook(io.BytesIO(call.files["document"])).active
    assert sheet.title == "Registrants"  # in the staff member's language, like the headers
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Name" and len(rows) == 3
    assert rows[1][1] == "Abai Region" and rows[1][6] == "12.03.2026 15:00"
    assert rows[1][4] == "Parliament member (student)"
    await staff.send("/export_webinar")
    assert "/export_webinar 12" in staff.last_text()


# --- attendance and the calendar file -----------------------------------------------------

async def test_attendance_only_inside_the_window(h, clock):
    await make_student(h, 101)
    await make_student(h, 102)
    wid = await new_webinar(h)  # 15:00-16:30 Almaty: window 14:45-17:00
    await register(h, 101, wid)
    here = WebinarCD(action="here", id=wid).pack()
    u = h.user(101)
    clock.value = START - timedelta(minutes=16)
    await u.press(here)
    assert "too early" in u.last_text()
    clock.value = START - timedelta(minutes=15)
    await u.press(here)
    assert "attendance is recorded" in u.last_text()
    await u.press(here)
    assert "already recorded" in u.last_text()
    await h.user(102).press(here)
    assert "register for this webinar first" in h.user(102).last_text()
    clock.value = START + timedelta(minutes=90 + 31)
    await register(h, 102, wid)
    assert "already over" in h.user(102).last_text()
    await h.user(102).press(here)
    assert "closed" in h.user(102).last_text()
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(ActivityLog.kind).where(
            ActivityLog.kind == "webinar_attend"))).all() == ["webinar_attend"]


async def test_card_shows_im_here_only_in_window(h, clock):
    await make_student(h, 101)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    u = h.user(101)
    await u.press(WebinarCD(action="open", id=wid).pack())
    assert not any("I'm here" in b for b in u.buttons())
    clock.value = START + timedelta(minutes=5)
    await u.press(WebinarCD(action="open", id=wid).pack())
    assert any("I'm here" in b for b in u.buttons())
    assert "🔗 Join" in u.buttons()


async def test_ics_file(h):
    await make_student(h, 101)
    wid = await new_webinar(h)
    u = h.user(101)
    await u.press(WebinarCD(action="ics", id=wid).pack())
    call = h.api.last(101)
    assert call.method == "sendDocument"
    raw = call.files["document"]
    text = raw.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith(
        "END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    lines = unfolded.split("\r\n")
    assert "TZID:Asia/Almaty" in lines and "TZOFFSETTO:+0500" in lines
    assert "DTSTART;TZID=Asia/Almaty:20260312T150000" in lines
    assert "DTEND;TZID=Asia/Almaty:20260312T163000" in lines
    assert "SUMMARY:Leadership school" in lines
    assert f"UID:webinar-{wid}@mektep-parliament-bot" in lines
    assert "URL:https://zoom.us/j/123456" in lines
    assert lines.count("BEGIN:VEVENT") == 1 and "DTSTAMP:20260302T060000Z" in lines


def test_ics_escaping_and_folding():
    from bot.services.ics import event_ics

    data = event_ics(uid="x@y", title="Заседание; фракции, «Бақыт»\\", description="a\nb" * 40,
                     starts_at=START, ends_at=START + timedelta(hours=1),
                     url="https://meet.example.kz/a", tz=ZoneInfo("Asia/Almaty"),
                     stamp=START, sequence=2, cancelled=True).decode()
    assert all(len(line.encode()) <= 75 for line in data.split("\r\n"))
    unfolded = data.replace("\r\n ", "")
    assert "SUMMARY:Заседание\\; фракции\\, «Бақыт»\\\\" in unfolded
    assert "DESCRIPTION:a\\nb" in unfolded and "STATUS:CANCELLED" in unfolded
    assert "SEQUENCE:2" in unfolded and "BEGIN:VALARM" not in unfolded


async def test_broadcast_audience_of_registrants(h):
    from bot.services import broadcasts

    await make_student(h, 101)
    await make_student(h, 102)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    async with h.app.sessionmaker() as s:
        assert await svc.webinar_registrant_ids(s, wid) == [
            (await load_user_info(s, h.app.users, 101)).id]
        options = await broadcasts.PROVIDERS["wreg"].options(s, broadcasts.Scope())
        assert options == [(str(wid), f"№{wid} · Көшбасшылық мектебі")]
        people = (await s.execute(await broadcasts.people(
            s, broadcasts.Scope(), f"wreg:{wid}"))).all()
        assert [row[1] for row in people] == [101]


async def test_staff_edits_reminder_offsets_and_link(h, clock):
    await make_staff(h)
    await make_student(h, 101)
    wid = await new_webinar(h)
    await register(h, 101, wid)
    staff = h.user(900)
    await staff.press(WebinarCD(action="open", id=wid).pack())
    await staff.click("Edit")
    await staff.click("Reminders")
    await staff.send("every day")
    assert "24h, 1h, 0" in staff.last_text()
    await staff.send("2h, 10m")
    assert "Saved." in staff.texts()[-2]
    await staff.click("Edit")
    await staff.click("Link")
    await staff.send("https://meet.google.com/abc-defg-hij")
    async with h.app.sessionmaker() as s:
        rows = dict((await s.execute(select(
            WebinarReminder.offset_min, WebinarReminder.status))).all())
    assert rows == {1440: "cancelled", 60: "cancelled", 0: "cancelled", 120: "pending",
                    10: "pending"}
    clock.value = START - timedelta(minutes=10)
    assert await tick_and_drain(h) == 1  # the 10-minute one; the 2-hour one is superseded
    ten = received(h, 101, "starts in 10 min")[0]
    assert "https://meet.google.com/abc-defg-hij" in ten
    assert "I'm here" in str(h.api.last(101).params["reply_markup"])
