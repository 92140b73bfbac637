"""The full message once a WhatsApp person answers (issue 16): outside the 24-hour window a
template carries at most 850 characters of the message and its first photo only; when the
person next writes or presses a button, what it left out comes whole — once, in order,
through the delivery queue, across a restart; not after a week, not after /deleteme.
Broadcasts are composed on Telegram through the Dispatcher; what WhatsApp people receive
is what the fake Cloud API recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.scheduler import whatsapp_strangers_tick
from bot.services import owed
from bot.services.delivery import Button, OutgoingMessage, Recipient, enqueue
from db.models import Delivery, OwedMessage, WaContact, Webinar
from tests import fake_whatsapp as fw
from tests.factories import make_coordinator
from tests.test_broadcast import compose
from tests.test_link import BSUID, linked_from_telegram
from tests.test_whatsapp import stored
from tests.test_whatsapp_delivery import COORDINATOR, harness, wa_student
from tests.wa_harness import WaHarness

LONG = "\n".join(f"Point {n}: the forum's programme, room {n}, bring your notebook."
                 for n in range(1, 21))  # ~1,300 characters: beyond the template's 850
READ = {"kk": ("Оқыдым", "Рақмет, белгіленді!"), "ru": ("Прочитал(а)", "Спасибо, отмечено!")}
PHOTOS = {f"AgP{n}": f"photo {n}".encode() for n in range(1, 4)}


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    wa = await harness(db_url, clock)
    yield wa
    await wa.close()
    await wa.h.close()


async def owed_notes(wh: WaHarness) -> int:
    async with wh.h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(OwedMessage))


async def full_rows(wh: WaHarness) -> list[str]:
    async with wh.h.app.sessionmaker() as s:
        return list((await s.scalars(select(Delivery.status).where(
            Delivery.source_type == owed.FULL))).all())


async def long_announcement(wh: WaHarness, locale: str, ack: str = "✅ Received") -> None:
    """A coordinator on Telegram sends LONG to a WhatsApp student silent for 30 hours."""
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.far", locale, hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, LONG, ack=ack)
    await u.click("Send now")
    assert await wh.h.drain() == 1


def full_text(wh: WaHarness, address: str) -> str:
    """Everything free-form they received, as one text (a long text comes in parts)."""
    return "\n".join(s.body for s in wh.api.to(address) if s.type != "template")


@pytest.mark.parametrize("locale", ["kk", "ru"])
async def test_the_read_button_brings_the_full_text_once(wh, locale):
    await long_announcement(wh, locale)
    student = wh.user("KZ.far")
    [template] = student.sent()
    assert template.template == "mektep_announcement_read" and template.body.endswith("…")
    assert len(template.body) <= 850 and "Point 20" not in template.body
    assert await owed_notes(wh) == 1
    button, thanks = READ[locale]
    replies = await student.choose(button)
    assert [r.body for r in replies] == [thanks]
    assert await owed_notes(wh) == 0
    assert await wh.h.drain() >= 1
    whole = full_text(wh, "KZ.far")
    assert "Point 1:" in whole and "Point 20: the forum's programme" in whole
    assert whole.count("Point 20:") == 1
    before = len(student.sent())
    await student.send("рақмет")  # another message: nothing is owed any more
    assert await wh.h.drain() == 0
    assert full_text(wh, "KZ.far").count("Point 20:") == 1
    answer = student.sent()[before:]  # the pointer to /help and the menu, nothing owed
    assert answer and not any("Point" in sent.body for sent in answer)
    assert await full_rows(wh) == ["sent"]
    assert not wh.api.refused


@pytest.mark.parametrize("locale", ["kk", "ru"])
async def test_typing_anything_brings_it_too(wh, locale):
    await long_announcement(wh, locale, ack="No confirmation")
    student = wh.user("KZ.far")
    assert student.last().template == "mektep_announcement"
    await student.send("/help")
    await wh.h.drain()
    assert "Point 20: the forum's programme" in full_text(wh, "KZ.far")
    assert await full_rows(wh) == ["sent"]


async def test_a_message_the_template_carried_whole_is_not_sent_again(wh):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.far", "ru", hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Forum on Saturday\nat 10:00", ack="✅ Received")
    await u.click("Send now")
    await wh.h.drain()
    assert await owed_notes(wh) == 0
    await wh.user("KZ.far").choose("Прочитал(а)")
    assert await wh.h.drain() == 0
    assert await full_rows(wh) == []


@pytest.mark.parametrize(("locale", "button"), [("kk", "Оқыдым"), ("ru", "Прочитал(а)")])
async def test_an_albums_other_photos_arrive_once_the_person_answers(wh, locale, button):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.far", locale, hours_silent=30)
    wh.h.api.files.update(PHOTOS)
    u = wh.h.user(COORDINATOR)
    await u.send("/broadcast")
    for n, file_id in enumerate(PHOTOS, start=1):
        await u.send_content(media_group_id="g1", caption="Forum photos" if n == 1 else None,
                             photo=[{"file_id": file_id, "file_unique_id": f"u{n}",
                                     "width": 1, "height": 1}])
    await u.click("Students")
    await u.click("✅ Received")
    await u.click("Send now")
    assert await wh.h.drain() == 2  # the album, then its button
    student = wh.user("KZ.far")
    album, follow_up = student.sent()
    assert (album.template, album.body) == ("mektep_announcement_photo", "Forum photos")
    assert wh.api.media[album.media_id][0] == PHOTOS["AgP1"]
    assert follow_up.template == "mektep_announcement_read"
    assert await owed_notes(wh) == 1  # the album; its button's message went whole
    await student.choose(button)
    await wh.h.drain()
    images = [s for s in student.sent() if s.type == "image"]
    assert [wh.api.media[s.media_id][0] for s in images] == list(PHOTOS.values())
    assert images[0].caption == "Forum photos"
    await student.send("1")
    await wh.h.drain()
    assert len([s for s in student.sent() if s.type == "image"]) == 3  # once


async def test_what_is_owed_survives_a_restart_before_and_after_the_answer(db_url, clock):
    wh = await harness(db_url, clock)
    await long_announcement(wh, "kk")
    [pressed] = wh.user("KZ.far").last().ids  # the template's button, pressed after a restart
    await wh.close()
    await wh.h.close()
    wh = await harness(db_url, clock)  # restarted: the note is in the database
    try:
        replies = await wh.user("KZ.far").post(fw.template_button(pressed, "Оқыдым"))
        assert [r.body for r in replies] == [READ["kk"][1]]
    finally:
        await wh.close()
        await wh.h.close()
    wh = await harness(db_url, clock)  # restarted before the queue sent it
    try:
        assert await wh.h.drain() == 1
        assert full_text(wh, "KZ.far").count("Point 20:") == 1
        assert await wh.h.drain() == 0
        assert await full_rows(wh) == ["sent"]
    finally:
        await wh.close()
        await wh.h.close()


async def test_a_week_later_nothing_is_brought_and_the_note_goes(wh, clock):
    await long_announcement(wh, "ru")
    clock.advance(days=7, minutes=1)
    await wh.user("KZ.far").send("привет")
    assert await wh.h.drain() == 0
    assert await full_rows(wh) == []
    await long_announcement_again(wh)
    clock.advance(days=7, minutes=1)
    await whatsapp_strangers_tick(wh.h.app)  # the hourly clean-up
    assert await owed_notes(wh) == 0


async def long_announcement_again(wh: WaHarness) -> None:
    """One more long broadcast to the same student, now silent again for a day."""
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(WaContact).values(
            last_inbound_at=wh.h.app.now() - timedelta(hours=30)))
        await s.commit()
    u = wh.h.user(COORDINATOR)
    await compose(u, LONG + "\nOnce more.", ack="No confirmation")
    await u.click("Send now")
    await wh.h.drain()
    assert await owed_notes(wh) == 1


@pytest.mark.parametrize("locale", ["kk", "ru"])
async def test_deleteme_drops_what_was_owed(wh, locale):
    await long_announcement(wh, locale)
    student = wh.user("KZ.far")
    await student.send("/deleteme")  # their message opens the window: it is queued …
    await student.choose(student.last().titles[0])  # … and erased with them
    assert (await stored(wh, "KZ.far"))[0] is None
    await wh.h.drain()
    assert "Point 20:" not in full_text(wh, "KZ.far")
    assert await owed_notes(wh) == 0
    assert set(await full_rows(wh)) <= {"cancelled"}


async def test_several_owed_come_in_the_order_they_were_sent(wh):
    """A weekly digest whose template came after 131047 (the window closed although the
    bot thought it open), then a long broadcast: both come whole, in that order."""
    student = await wa_student(wh, "KZ.far", "ru", hours_silent=1)
    wh.api.window_closed.add("KZ.far")
    reminder = "Digest of the week.\n" + "Agenda item, speakers and questions. " * 30
    async with wh.h.app.sessionmaker() as s:
        await enqueue(s, "digest", 7, [Recipient(student.id, student.chat_id)],
                      {"default": OutgoingMessage(text=reminder)})
        await s.commit()
    assert await wh.h.drain() == 1
    assert [code for _, code in wh.api.refused] == [131047]
    assert wh.user("KZ.far").last().template == "mektep_reminder"
    await make_coordinator(wh.h, COORDINATOR)
    u = wh.h.user(COORDINATOR)
    await compose(u, LONG, ack="No confirmation")
    await u.click("Send now")
    assert await wh.h.drain() == 1
    assert await owed_notes(wh) == 2
    wh.api.window_closed.discard("KZ.far")  # they write: Meta opens the window
    await wh.user("KZ.far").send("Привет")
    await wh.h.drain()
    whole = full_text(wh, "KZ.far")
    assert whole.index("Digest of the week.") < whole.index("Point 20:")
    assert whole.count("Digest of the week.") == 1 and whole.count("Point 20:") == 1
    assert await full_rows(wh) == ["sent", "sent"]



@pytest.mark.parametrize(("lang", "parted"), [("kk", False), ("ru", True), ("kk", True)])
async def test_a_linked_person_gets_it_and_a_chat_parted_by_unlink_does_not(wh, lang, parted):
    """A Telegram student who linked WhatsApp and takes news there (/link): owed to their
    WhatsApp chat, brought when they write there; after /unlink that chat is a stranger's."""
    _, u, w = await linked_from_telegram(wh, 101, lang)
    await w.choose("📩")  # news to WhatsApp
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(WaContact).values(
            last_inbound_at=wh.h.app.now() - timedelta(hours=30)))
        await s.commit()
    await make_coordinator(wh.h, COORDINATOR)
    c = wh.h.user(COORDINATOR)
    await compose(c, LONG, ack="No confirmation")
    await c.click("Send now")
    await wh.h.drain()
    assert w.last().template == "mektep_announcement" and await owed_notes(wh) == 1
    if parted:
        await u.send("/unlink")
    await w.send("/help")
    await wh.h.drain()
    assert ("Point 20:" in full_text(wh, BSUID)) is not parted
    assert await owed_notes(wh) == 0


@pytest.mark.parametrize(("lang", "hours_later", "brought"), [("ru", 1, True), ("kk", 5, False)])
async def test_a_webinar_reminder_comes_whole_only_while_the_webinar_is_on(
        wh, clock, lang, hours_later, brought):
    """Its "🔗 Join" and "✋ I'm here" buttons do not travel in a template; brought an hour
    later the webinar (2 hours from the reminder, 90 minutes long) is still to come, five
    hours later it is over and the reminder is news no more."""
    student = await wa_student(wh, "KZ.far", lang, hours_silent=30)
    async with wh.h.app.sessionmaker() as s:
        webinar = Webinar(title_kk="Форум", title_ru="Форум", description_kk="—",
                          description_ru="—", starts_at=wh.h.app.now() + timedelta(hours=2),
                          duration_min=90, join_url="https://meet.example.kz/forum")
        s.add(webinar)
        await s.flush()
        await enqueue(s, "webinar_reminder", webinar.id, [Recipient(student.id, student.chat_id)],
                      {"default": OutgoingMessage(
                          text="⏰ Forum starts in 2 h", buttons=[[Button(
                              "🔗 Join", url="https://meet.example.kz/forum")]])})
        await s.commit()
    await wh.h.drain()
    assert wh.user("KZ.far").last().template == "mektep_reminder"
    assert await owed_notes(wh) == 1
    clock.advance(hours=hours_later)
    await wh.user("KZ.far").send("/help")
    await wh.h.drain()
    assert (await full_rows(wh) == ["sent"]) is brought
    assert await owed_notes(wh) == 0
