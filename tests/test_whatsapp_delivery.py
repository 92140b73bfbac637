"""WhatsApp's sending rules in the one delivery queue (issue 16, delivery): the 24-hour window
(an approved template in the person's language outside it), the pair rate (131056: retried
after a pause), WHATSAPP_RATE and one message per 6 s to a person, and the daily limit of
business-initiated messages (the author is told, the rest waits for the next days).
Broadcasts are composed by a coordinator on Telegram through the Dispatcher; what WhatsApp
people receive is what the fake Cloud API recorded."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update

from bot.notices import templates
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from db.base import utcnow
from db.models import Delivery, User, WaContact
from tests.conftest import STAFF_ID
from tests.factories import STAFF_TG_ID, make_coordinator, make_staff, make_student
from tests.harness import make_harness
from tests.test_broadcast import compose
from tests.wa_harness import WA_SETTINGS, WaHarness, approved_templates, attach_whatsapp

COORDINATOR = 201
NEWS = "Meeting on Friday at 15:00\nBring your notebooks."


async def harness(db_url, clock, **settings) -> WaHarness:
    # The queue dates rows by the real clock (db.base.utcnow); the test's clock runs a minute
    # ahead of it, so what is queued now is due by the test's clock, and the worker claims
    # by the test's clock: later days come by moving it.
    clock.value = utcnow() + timedelta(minutes=1)
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}), flood_limit=1000,
                           **WA_SETTINGS, **settings)
    h.app.delivery.now = clock  # rows are due by the test's clock, as the services date them
    wa = await attach_whatsapp(h)
    wa.api.templates = approved_templates()
    return wa


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    wa = await harness(db_url, clock)
    yield wa
    await wa.close()
    await wa.h.close()


async def wa_student(wh: WaHarness, address: str, locale: str, hours_silent: float) -> User:
    """A student registered over WhatsApp whose last message was `hours_silent` ago."""
    contact = await wh.wa.contacts.arrive(address, None)
    user = await make_student(wh.h, contact.ext_id, locale=locale)
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(channel="whatsapp"))
        await s.execute(update(WaContact).where(WaContact.address == address).values(
            last_inbound_at=wh.h.app.now() - timedelta(hours=hours_silent)))
        await s.commit()
    return user


async def statuses(wh: WaHarness) -> dict[int, str]:
    async with wh.h.app.sessionmaker() as s:
        return dict((await s.execute(select(Delivery.chat_id, Delivery.status))).all())


async def test_outside_the_window_a_template_in_their_language_inside_free_form(wh):
    await make_coordinator(wh.h, COORDINATOR)
    kk = await wa_student(wh, "KZ.kk", "kk", hours_silent=30)
    ru = await wa_student(wh, "KZ.ru", "ru", hours_silent=25)
    talking = await wa_student(wh, "KZ.en", "en", hours_silent=2)
    await make_student(wh.h, 101)  # on Telegram
    u = wh.h.user(COORDINATOR)
    await compose(u, NEWS)
    assert "Recipients: 4" in u.last_text()
    assert "WhatsApp allows" not in u.last_text()  # 2 outside the window: well within 1,000
    await u.click("Send now")
    assert await wh.h.drain() == 4
    [to_kk] = wh.api.to("KZ.kk")
    assert (to_kk.type, to_kk.template, to_kk.language) == (
        "template", "mektep_announcement", "kk")
    assert to_kk.body == "Meeting on Friday at 15:00 · Bring your notebooks."
    [to_ru] = wh.api.to("KZ.ru")
    assert (to_ru.type, to_ru.template, to_ru.language) == (
        "template", "mektep_announcement", "ru")
    [to_en] = wh.api.to("KZ.en")
    assert (to_en.type, to_en.body) == ("text", NEWS)  # inside the window: the message itself
    assert wh.h.api.texts(101) == [NEWS]
    assert set((await statuses(wh)).values()) == {"sent"}
    assert not wh.api.refused  # no free-form was tried outside the window
    assert {kk.chat_id, ru.chat_id, talking.chat_id} <= set(await statuses(wh))


async def test_a_window_closed_meanwhile_gets_the_template_after_131047(wh):
    user = await wa_student(wh, "KZ.ru", "ru", hours_silent=1)
    wh.api.window_closed.add("KZ.ru")  # e.g. our last_inbound_at is older news than Meta's
    async with wh.h.app.sessionmaker() as s:
        await enqueue(s, "webinar_reminder", 7, [Recipient(user.id, user.chat_id)],
                      {"default": OutgoingMessage(text="<b>Webinar</b> starts in 1 hour",
                                                  html=True)})
        await s.commit()
    await wh.h.drain()
    assert [code for _, code in wh.api.refused] == [131047]
    [sent] = wh.api.to("KZ.ru")
    assert (sent.template, sent.language, sent.body) == (
        "mektep_reminder", "ru", "Webinar starts in 1 hour")
    assert set((await statuses(wh)).values()) == {"sent"}


async def test_a_certificate_outside_the_window_rides_as_the_templates_document(wh):
    user = await wa_student(wh, "KZ.kk", "kk", hours_silent=48)
    pdf = b"%PDF-1.7 certificate"
    async with wh.h.app.sessionmaker() as s:
        await enqueue(s, "certificate", 3, [Recipient(user.id, user.chat_id)],
                      {"default": OutgoingMessage(
                          kind="document", text="Certificate No. W26-1", filename="cert.pdf",
                          document_bytes_b64=base64.b64encode(pdf).decode())})
        await s.commit()
    await wh.h.drain()
    [sent] = wh.api.to("KZ.kk")
    assert (sent.template, sent.language) == ("mektep_certificate_ready", "kk")
    assert wh.api.media[sent.media_id][0] == pdf


async def test_the_pair_rate_131056_is_retried_after_a_pause(wh, clock):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.en", "en", hours_silent=1)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Rehearsal moved to 16:00")
    await u.click("Send now")
    wh.api.fail_next(131056)
    await wh.h.drain()
    assert wh.api.to("KZ.en") == []
    async with wh.h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery))
    assert (row.status, row.error) == ("queued", "flood control")
    assert row.next_attempt_at == clock() + timedelta(seconds=6)  # about 6 s, this person only
    assert await wh.h.drain() == 0  # not before the pause
    clock.advance(seconds=7)
    assert await wh.h.drain() == 1
    assert [s.body for s in wh.api.to("KZ.en")] == ["Rehearsal moved to 16:00"]


async def test_whatsapp_pacing_rate_and_six_seconds_per_person(db_url, clock):
    """WHATSAPP_RATE=5: never six sends within a second; a person at most every 6 s. Time
    is the worker's virtual time, read when the limiter lets each send go."""
    wh = await harness(db_url, clock, whatsapp_rate=5)
    worker = wh.h.app.delivery
    limiter = worker.limiters["whatsapp"]
    granted: list[tuple[float, int]] = []
    acquire = limiter.acquire

    async def recorded(chat_id):
        await acquire(chat_id)
        granted.append((worker.timer.monotonic(), chat_id))

    limiter.acquire = recorded
    try:
        people = [await wa_student(wh, f"KZ.{n}", "en", hours_silent=1) for n in range(12)]
        async with wh.h.app.sessionmaker() as s:
            for notice in range(3):  # three notices each: the same person at most every 6 s
                await enqueue(s, "challenge", notice, [Recipient(p.id, p.chat_id)
                                                       for p in people],
                              {"default": OutgoingMessage(text=f"Notice {notice}")})
            await s.commit()
        assert await wh.h.drain() == 36
    finally:
        await wh.close()
        await wh.h.close()
    assert len(wh.api.sent) == 36 and len(granted) == 36
    times = sorted(at for at, _ in granted)
    for first in range(len(times) - 5):  # never 6 within one second at 5 a second
        assert times[first + 5] - times[first] >= 1.0
    assert times[-1] < 18  # nobody waits much beyond their 6 s: a person's third goes at 12 s
    for person in {chat for _, chat in granted}:
        mine = sorted(at for at, chat in granted if chat == person)
        assert len(mine) == 3 and all(b - a >= 6 for a, b in pairwise(mine))
    for address in {s.to for s in wh.api.sent}:
        assert [s.body for s in wh.api.to(address)] == ["Notice 0", "Notice 1", "Notice 2"]


async def test_the_daily_limit_is_told_before_sending_and_the_rest_waits(db_url, clock):
    wh = await harness(db_url, clock, whatsapp_daily_limit=2)
    try:
        await make_coordinator(wh.h, COORDINATOR)
        for n in range(5):
            await wa_student(wh, f"KZ.{n}", "kk", hours_silent=30)
        await wa_student(wh, "KZ.talking", "kk", hours_silent=1)  # free-form: not counted
        u = wh.h.user(COORDINATOR)
        await compose(u, "Forum on Saturday")
        assert ("⚠️ 5 recipients are on WhatsApp and have not written to the bot in the last "
                "24 hours. WhatsApp allows 2 such messages a day: they will receive the "
                "announcement over 3 days.") in u.last_text()
        await u.click("Send now")
        await wh.h.drain()
        templates_sent = [s for s in wh.api.sent if s.type == "template"]
        assert len(templates_sent) == 2
        assert [s.body for s in wh.api.to("KZ.talking")] == ["Forum on Saturday"]
        clock.advance(hours=24, seconds=1)
        await wh.h.drain()
        assert len([s for s in wh.api.sent if s.type == "template"]) == 4
        clock.advance(hours=24, seconds=1)
        await wh.h.drain()
        assert len([s for s in wh.api.sent if s.type == "template"]) == 5
        assert len({s.to for s in wh.api.sent}) == 6  # each one once
    finally:
        await wh.close()
        await wh.h.close()


async def test_the_preview_in_kazakh_warns_too(db_url, clock):
    wh = await harness(db_url, clock, whatsapp_daily_limit=1)
    try:
        await make_coordinator(wh.h, COORDINATOR)
        async with wh.h.app.sessionmaker() as s:
            await s.execute(update(User).values(locale="kk"))
            await s.commit()
        wh.h.app.users.forget(COORDINATOR)
        for n in range(3):
            await wa_student(wh, f"KZ.{n}", "ru", hours_silent=30)
        u = wh.h.user(COORDINATOR)
        await u.send("/broadcast")
        await u.send("Жиналыс")
        await u.click(u.buttons()[0])
        await u.click(u.buttons()[-1])
        assert "WhatsApp мұндай хабарламаларды күніне 1 ғана" in u.last_text()
        assert "3 күн ішінде" in u.last_text()
    finally:
        await wh.close()
        await wh.h.close()


def test_every_kind_has_a_template_in_three_languages_and_parameters_are_one_line():
    required = templates.required()
    names = {(t.name, t.language) for t in required}
    assert len(names) == len(required) == 33  # 11 templates × kk, ru, en
    for t in required:  # Meta refuses a body that starts or ends with its parameter
        assert t.text.count("{{1}}") == 1 and not t.text.startswith("{{1}}")
        assert not t.text.rstrip().endswith("{{1}}")
        assert len(t.text) - len("{{1}}") + templates.PARAM_LIMIT <= templates.BODY_LIMIT
    assert templates.kind_of("broadcast") == "announcement"
    assert templates.kind_of("webinar_reminder") == "reminder"
    assert templates.kind_of("submission") == "result"
    assert templates.kind_of("certificate") == "certificate_ready"
    flat = templates.one_line("<b>Title</b>\n\n\tline   two " + "word " * 400, html_text=True)
    assert flat.startswith("Title · line two word")
    assert "\n" not in flat and "\t" not in flat and "    " not in flat
    assert len(flat) <= templates.PARAM_LIMIT and flat.endswith("…")


async def test_staff_list_and_check_the_templates(db_url, clock):
    wh = await harness(db_url, clock, whatsapp_business_account_id="WABA1")
    try:
        await make_staff(wh.h)
        wh.api.templates = [t for t in wh.api.templates
                            if (t["name"], t["language"]) != ("mektep_result", "kk")]
        wh.api.templates[0]["status"] = "REJECTED"
        staff = wh.h.user(STAFF_TG_ID)
        await staff.send("/wa_templates")
        listing = "\n".join(staff.texts())  # long: in several messages
        assert "❌ MISSING <code>mektep_result</code> (kk): Мектеп Парламенті: сіздің" in listing
        assert "❌ REJECTED <code>mektep_announcement</code> (kk)" in listing
        assert "✅ <code>mektep_certificate_ready</code> (ru, document header)" in listing
        assert "Approved: 31 of 33." in listing
        student = await make_student(wh.h, 101)
        await wh.h.user(student.tg_id).send("/wa_templates")  # staff only
        assert "Approved" not in wh.h.user(101).last_text()
    finally:
        await wh.close()
        await wh.h.close()


async def test_without_the_account_id_the_list_is_given_unchecked(wh):
    await make_staff(wh.h)
    staff = wh.h.user(STAFF_TG_ID)
    await staff.send("/wa_templates")
    listing = "\n".join(staff.texts())
    assert ("<code>mektep_reminder</code> (en): Mektep Parliament: a reminder. {{1}}\n\n"
            "Questions? Reply in this chat.") in listing
    assert "WHATSAPP_BUSINESS_ACCOUNT_ID is not set" in listing
