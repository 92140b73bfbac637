"""Coordinators' weekly reports of the offline week (issue 17), through the Dispatcher:
filing and re-filing /week, bad numbers, who may file, the Friday reminder (once, only to
those who have not filed), and the numbers in /stats, the digest, the XLSX and /report."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot.notices.digest import digest_tick
from bot.notices.weekly import weekly_reminder_tick
from db.models import Delivery, User, WeeklyReport
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student, place_ids
from tests.harness import make_harness

# The clock fixture starts on Monday 2026-03-02 06:00 UTC = 11:00 in Almaty.
MONDAY = date(2026, 3, 2)

TEXTS = {
    "kk": {"ask_events": "Осы аптада қанша іс-шараны офлайн өткіздіңіз?",
           "ask_people": "Оларға қанша адам қатысты",
           "ask_note": "дербес деректерін жазбаңыз",
           "saved": "✅ Апталық есеп сақталды.", "updated": "✅ Апталық есеп жаңартылды.",
           "filed_before": "Осы аптаның есебін бұрын жібергенсіз (өткізілген іс-шаралар: 3, "
                           "қамтылған адамдар: 120)",
           "events": "Өткізілген іс-шаралар: 3", "people": "Қамтылған адамдар: 120",
           "bad_number": "0 мен 200 аралығындағы бүтін санды цифрмен жазыңыз",
           "too_many": "Бұл сан 200 мәнінен асады", "skip": "Өткізіп жіберу",
           "note_long": "Ескертпенің ұзындығы: 501 таңба",
           "reminder": "📝 Апталық есеп: аумағыңызда апта қалай өтті?",
           "button": "📝 Апталық есепті толтыру",
           "offline": "Офлайн жұмыс (үйлестірушілердің апталық есептері)",
           "held": "Өткізілген іс-шаралар: <b>{n}</b>",
           "reached": "Қамтылған адамдар: <b>{n}</b>",
           "reported": "Есеп берген үйлестірушілер: {all} ішінен <b>{filed}</b>"},
    "ru": {"ask_events": "Сколько мероприятий вы провели офлайн на этой неделе?",
           "ask_people": "Сколько человек в них участвовало",
           "ask_note": "не пишите имена, телефоны",
           "saved": "✅ Еженедельный отчёт сохранён.",
           "updated": "✅ Еженедельный отчёт обновлён.",
           "filed_before": "Вы уже сдали отчёт за эту неделю (проведено мероприятий: 3, "
                           "охвачено человек: 120)",
           "events": "Проведено мероприятий: 3", "people": "Охвачено человек: 120",
           "bad_number": "Напишите целое число от 0 до 200 цифрами",
           "too_many": "Это больше 200", "skip": "Пропустить",
           "note_long": "Длина заметки — 501",
           "reminder": "📝 Еженедельный отчёт: как прошла неделя на вашей территории?",
           "button": "📝 Заполнить еженедельный отчёт",
           "offline": "Офлайн-работа (еженедельные отчёты координаторов)",
           "held": "Проведено мероприятий: <b>{n}</b>",
           "reached": "Охвачено человек: <b>{n}</b>",
           "reported": "Координаторы, сдавшие отчёт: <b>{filed}</b> из {all}"},
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def reports(h) -> list[WeeklyReport]:
    async with h.app.sessionmaker() as s:
        return list((await s.scalars(select(WeeklyReport).order_by(WeeklyReport.id))).all())


async def file_week(h, tg_id: int, events: str, people: str, note: str | None) -> None:
    person = h.user(tg_id)
    await person.send("/week")
    await person.send(events)
    await person.send(people)
    if note is None:
        await person.click("»")
    else:
        await person.send(note)


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_filing_and_refiling_the_week(h, lang):
    t = TEXTS[lang]
    await make_coordinator(h, 201, locale=lang)
    coordinator = h.user(201)
    await coordinator.send("/week")
    assert t["ask_events"] in coordinator.last_text()
    assert "02.03.2026 – 08.03.2026" in coordinator.last_text()
    await coordinator.send("3")
    assert t["ask_people"] in coordinator.last_text()
    await coordinator.send("120")
    assert t["ask_note"] in coordinator.last_text()
    assert any(t["skip"] in b for b in coordinator.buttons())
    await coordinator.send("Спорт күні, дебат турнирі")
    text = coordinator.last_text()
    assert t["saved"] in text and t["events"] in text and t["people"] in text
    assert "Спорт күні, дебат турнирі" in text
    region_id, district_id = await place_ids(h, "abai", 0)
    [row] = await reports(h)
    assert (row.week, row.events_held, row.people_reached, row.note) == (
        MONDAY, 3, 120, "Спорт күні, дебат турнирі")
    assert (row.region_id, row.district_id) == (region_id, district_id)

    # the same week again: told what was filed, and the row is updated, not doubled
    await coordinator.send("/week")
    assert t["filed_before"] in coordinator.last_text()
    await coordinator.send("5")
    await coordinator.send("200")
    await coordinator.click(t["skip"])
    assert t["updated"] in coordinator.last_text()
    [row] = await reports(h)
    assert (row.week, row.events_held, row.people_reached, row.note) == (MONDAY, 5, 200, None)


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_bad_numbers_and_a_long_note_are_explained_and_the_form_goes_on(h, lang):
    t = TEXTS[lang]
    await make_coordinator(h, 201, locale=lang)
    coordinator = h.user(201)
    await coordinator.send("/week")
    for typed in ("бес", "-1", "2.5"):
        await coordinator.send(typed)
        assert t["bad_number"] in coordinator.last_text(), typed
    await coordinator.send("201")
    assert t["too_many"] in coordinator.last_text()
    await coordinator.send("٣")  # other digit signs: told to use 0-9
    assert "0–9" in coordinator.last_text()
    await coordinator.send("0")  # no events is an answer
    assert t["ask_people"] in coordinator.last_text()
    await coordinator.send("50001")
    assert t["too_many"].replace("200", "50000") in coordinator.last_text()
    await coordinator.send("0")
    await coordinator.send("x" * 501)
    assert t["note_long"] in coordinator.last_text()
    assert not await reports(h)  # nothing stored until the form is complete
    await coordinator.send("Каникул аптасы")
    assert t["saved"] in coordinator.last_text()
    [row] = await reports(h)
    assert (row.events_held, row.people_reached, row.note) == (0, 0, "Каникул аптасы")


async def test_only_active_coordinators_file_and_their_help_has_the_button(h):
    await make_student(h, 101)
    await make_coordinator(h, 203, status="pending")
    await make_staff(h)
    for tg_id in (101, 203, STAFF_ID):
        await h.user(tg_id).send("/week")
        assert "How many events" not in h.user(tg_id).last_text()
        await h.user(tg_id).press("wk:start")
        assert "How many events" not in (h.api.last(tg_id).text or "")
    assert not await reports(h)
    await make_coordinator(h, 202, level="regional")
    regional = h.user(202)
    await regional.send("/help")
    assert "/week — report this week's offline events in your area" in regional.last_text()
    await regional.click("📝 Fill in the weekly report")
    assert "How many events did you hold offline this week?" in regional.last_text()
    assert "Abai Region" in regional.texts()[-1]
    await regional.send("2")
    await regional.send("40")
    await regional.click("Skip")
    [row] = await reports(h)
    assert row.district_id is None and row.events_held == 2  # the region's report


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_reminder_queued_once_and_only_to_those_who_did_not_file(h, clock, tmp_path,
                                                                       db_url, lang):
    t = TEXTS[lang]
    await make_coordinator(h, 201, locale=lang)  # files on Wednesday
    await make_coordinator(h, 202, level="regional", locale=lang)  # does not
    await make_coordinator(h, 204, district_index=1, locale=lang)  # does not, blocked the bot
    await make_coordinator(h, 203, status="pending")
    await make_student(h, 101)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == 204).values(blocked_bot=True))
        await s.commit()
    clock.value = utc(2026, 3, 4, 6)  # Wednesday
    await file_week(h, 201, "1", "30", None)
    clock.value = utc(2026, 3, 6, 10, 59)  # Friday 15:59 in Almaty
    assert await weekly_reminder_tick(h.app) == 0
    clock.value = utc(2026, 3, 6, 11, 0)  # Friday 16:00
    assert await weekly_reminder_tick(h.app) == 1
    assert await weekly_reminder_tick(h.app) == 0
    if "://" not in db_url:  # a restart on the same SQLite file still reminds once
        again = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}))
        try:
            clock.advance(hours=3)
            assert await weekly_reminder_tick(again.app) == 0
        finally:
            await again.close()
    await h.drain()
    async with h.app.sessionmaker() as s:
        rows = (await s.scalars(select(Delivery.user_id).where(
            Delivery.source_type == "weekly_reminder"))).all()
        reminded = (await s.scalars(select(User.tg_id).where(User.id.in_(rows)))).all()
    assert reminded == [202]
    regional = h.user(202)
    assert t["reminder"] in regional.last_text()
    assert "/week" in regional.last_text()  # what a template without the button still says
    await regional.click(t["button"])  # the reminder's button opens the form
    assert t["ask_events"] in regional.last_text()
    assert not [c for c in h.api.calls if c.chat_id in (201, 203, 204, 101)
                and t["reminder"] in (c.text or "")]
    clock.value = utc(2026, 3, 13, 11, 0)  # next Friday: a new week, reminded again
    assert await weekly_reminder_tick(h.app) == 2  # 201 and 202 (202 left the form unfiled)


async def _two_regions(h) -> None:
    """Reports in Abai (two district coordinators) and Karaganda (a regional one); one of
    three Abai coordinators has not filed."""
    await make_coordinator(h, 201)
    await make_coordinator(h, 202, district_index=1)
    await make_coordinator(h, 203, district_index=2)
    await make_coordinator(h, 301, level="regional", region_code="karaganda")
    async with h.app.sessionmaker() as s:  # registered before the weeks counted
        await s.execute(update(User).values(created_at=utc(2026, 2, 1)))
        await s.commit()
    await file_week(h, 201, "3", "120", "Дебат")
    await file_week(h, 202, "2", "45", None)
    await file_week(h, 301, "4", "300", None)


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_stats_and_the_digest_show_the_offline_numbers(h, clock, lang):
    t = TEXTS[lang]
    await make_staff(h, locale=lang)
    await _two_regions(h)
    staff = h.user(STAFF_ID)
    await staff.send("/stats")
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert t["offline"] in text
    assert t["held"].format(n=9) in text and t["reached"].format(n=465) in text
    assert t["reported"].format(filed=3, all=4) in text
    await h.user(201).send("/stats")  # a district coordinator: the district only
    text = h.api.of("sendMessage", 201)[-1].params["text"]
    assert "Events held: <b>3</b>" in text and "People reached: <b>120</b>" in text
    assert "Coordinators who reported: <b>1</b> of 1" in text
    clock.value = utc(2026, 3, 9, 4, 0)  # the next Monday 09:00: last week's digest
    assert await digest_tick(h.app) == 2
    await h.drain()
    digest = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert "02.03.2026 – 08.03.2026" in digest and t["offline"] in digest
    assert t["held"].format(n=9) in digest and t["reported"].format(filed=3, all=4) in digest
    await staff.send("/stats")  # this new week: nothing filed yet, the change shown
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert t["held"].format(n=0) + " (−9" in text


async def test_the_xlsx_has_the_weekly_reports(h):
    await make_staff(h)
    await _two_regions(h)
    await h.user(STAFF_ID).send("/export_stats")
    book = load_workbook(io.BytesIO(h.api.of("sendDocument", STAFF_ID)[-1].files["document"]))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Offline work (coordinators' weekly reports): Events held"] == 9
    assert summary["Offline work (coordinators' weekly reports): People reached"] == 465
    assert summary["Offline work (coordinators' weekly reports): Coordinators who reported"] == 3
    rows = list(book["Weekly reports"].iter_rows(values_only=True))
    assert rows[0][:6] == ("Week", "Region", "District", "Coordinator", "Events held",
                           "People reached")
    assert len(rows) == 4 and sum(r[4] for r in rows[1:]) == 9
    assert {r[6] for r in rows[1:]} == {"Дебат", None}
    assert book["Weekly reports"].freeze_panes == "A2"


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_report_has_the_offline_table_by_region(h, clock, lang):
    await make_staff(h, locale=lang)
    await _two_regions(h)
    clock.value = utc(2026, 3, 10, 6)  # a second week: Abai's 201 files again
    await file_week(h, 201, "1", "15", None)
    await h.user(STAFF_ID).send("/report 2026")
    doc = Document(io.BytesIO(h.api.of("sendDocument", STAFF_ID)[-1].files["document"]))
    heading = {"kk": "Облыстар бойынша офлайн іс-шаралар (үйлестірушілердің апталық есептері)",
               "ru": "Офлайн-мероприятия по областям (еженедельные отчёты координаторов)"}[lang]
    titles = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heading in titles
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    [table] = [t for t in tables if t[0][2:] == {
        "kk": ["Өткізілген іс-шаралар", "Қамтылған адамдар"],
        "ru": ["Проведено мероприятий", "Охвачено человек"]}[lang]]
    abai = h.app.places.region((await place_ids(h, "abai", None))[0]).name(lang)
    karaganda = h.app.places.region((await place_ids(h, "karaganda", None))[0]).name(lang)
    body = {row[0]: row[1:] for row in table[1:]}
    assert body[abai] == ["2", "6", "180"] and body[karaganda] == ["1", "4", "300"]
    assert table[-1][1:] == ["3", "10", "480"]  # the total: the rows add up to it
    assert table[-1][0] in ("Барлығы", "Итого", "Жиыны", "Всего")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WeeklyReport)) == 4


async def test_mydata_has_the_reports_and_deleteme_keeps_the_numbers_not_the_note(h):
    import json

    await make_coordinator(h, 201)
    await file_week(h, 201, "3", "120", "Дебат, 8-сынып")
    coordinator = h.user(201)
    await coordinator.send("/mydata")
    data = json.loads(h.api.last(201).files["document"])
    assert [(r["events_held"], r["note"]) for r in data["weekly_reports"]] == [
        (3, "Дебат, 8-сынып")]
    await coordinator.send("/deleteme")
    await coordinator.click("Yes, erase")
    [row] = await reports(h)
    assert (row.events_held, row.people_reached, row.note) == (3, 120, None)
    await make_staff(h)
    await h.user(STAFF_ID).send("/stats")  # the area's numbers still count
    assert "Events held: <b>3</b>" in h.api.of("sendMessage", STAFF_ID)[-1].params["text"]


def test_the_reminder_setting_is_checked_at_start():
    from bot.config import ConfigError, load_settings
    from bot.services.weekly import reminder_time

    tz = load_settings(_env_file=None).tz
    assert load_settings(_env_file=None).weekly_reminder == "fri 16:00"
    assert reminder_time("mon 09:30", MONDAY, tz) == datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    assert reminder_time("off", MONDAY, tz) is None
    for bad in ("friday 16:00", "fri 25:00", "fri 4pm", ""):
        with pytest.raises(ConfigError, match="WEEKLY_REMINDER"):
            load_settings(_env_file=None, weekly_reminder=bad)


async def test_no_reminder_when_switched_off(db_url, clock):
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                           weekly_reminder="off")
    try:
        await make_coordinator(h, 201)
        clock.value = utc(2026, 3, 6, 12)
        assert await weekly_reminder_tick(h.app) == 0
    finally:
        await h.close()
