"""Templates that keep what the message had (issue 16): outside the 24-hour window an
announcement to acknowledge is still acknowledged — its template's quick-reply button
("Оқыдым" / "Прочитал(а)") carries the Telegram button's own callback data, and a press goes
through the Dispatcher as the same acknowledgement; a photo announcement has its photo as
the template's image header (uploaded once per broadcast); /wa_templates checks header, body
and button of each template on the account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from bot.callbacks import BroadcastAckCD
from db.models import Broadcast, BroadcastAck, Delivery, User
from tests import fake_whatsapp as fw
from tests.factories import STAFF_TG_ID, make_coordinator, make_staff
from tests.test_broadcast import compose
from tests.test_whatsapp import stored
from tests.test_whatsapp_delivery import COORDINATOR, harness, wa_student
from tests.wa_harness import WaHarness

PNG = b"\x89PNG\r\n\x1a\n the forum's poster"


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    wa = await harness(db_url, clock)
    yield wa
    await wa.close()
    await wa.h.close()


async def acks(wh: WaHarness) -> int:
    async with wh.h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(BroadcastAck))


async def bc_id(wh: WaHarness) -> int:
    async with wh.h.app.sessionmaker() as s:
        return await s.scalar(select(Broadcast.id))


@pytest.mark.parametrize(("locale", "button", "thanks", "again"), [
    ("kk", "Оқыдым", "Рақмет, белгіленді!", "Сіз растап қойғансыз."),
    ("ru", "Прочитал(а)", "Спасибо, отмечено!", "Вы уже подтвердили."),
])
async def test_an_announcement_outside_the_window_is_acknowledged_by_its_template_button(
        wh, locale, button, thanks, again):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.far", locale, hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Forum on Saturday\nat 10:00", ack="✅ Received")
    await u.click("Send now")
    assert await wh.h.drain() == 1
    student = wh.user("KZ.far")
    [sent] = student.sent()
    assert (sent.type, sent.template, sent.language) == (
        "template", "mektep_announcement_read", locale)
    assert sent.body == "Forum on Saturday · at 10:00"
    assert sent.titles == [button]
    assert sent.ids == [BroadcastAckCD(id=await bc_id(wh)).pack()]  # Telegram's own button
    replies = await student.choose(button)
    assert [r.body for r in replies] == [thanks]
    assert await acks(wh) == 1
    replies = await student.choose(button)  # pressed again: counted once, as on Telegram
    assert [r.body for r in replies] == [again]
    assert await acks(wh) == 1
    assert not wh.api.refused


async def test_a_template_button_of_someone_who_did_not_receive_it_records_nothing(wh):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.far", "ru", hours_silent=30)
    await wa_student(wh, "KZ.other", "ru", hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Forum", ack="✅ Received")
    await u.click("Send now")
    await wh.h.drain()
    other = (await stored(wh, "KZ.other"))[1]
    async with wh.h.app.sessionmaker() as s:  # KZ.other's message never went out
        await s.execute(update(Delivery).where(Delivery.user_id == other.id)
                        .values(status="failed"))
        await s.commit()
    forger = wh.user("KZ.other")
    replies = await forger.post(fw.template_button(BroadcastAckCD(id=await bc_id(wh)).pack(),
                                                   "Прочитал(а)"))
    assert await acks(wh) == 0
    assert [r.body for r in replies] == ["Не найдено. Возможно, запись удалена."]


async def test_done_announcements_and_their_nudge_use_the_done_and_read_buttons(wh):
    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.kk", "kk", hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Fill in the form", ack="✅ Done")
    await u.click("Send now")
    await wh.h.drain()
    student = wh.user("KZ.kk")
    assert (student.last().template, student.last().titles) == (
        "mektep_announcement_done", ["Орындадым"])
    await student.choose("Орындадым")
    assert await acks(wh) == 1
    assert student.last().body == "Рақмет, белгіленді!"


async def test_the_nudge_to_confirm_comes_as_a_reminder_with_the_read_button(wh):
    from bot.notices.broadcasts import broadcasts_tick

    await make_coordinator(wh.h, COORDINATOR)
    await wa_student(wh, "KZ.ru", "ru", hours_silent=30)
    u = wh.h.user(COORDINATOR)
    await compose(u, "Forum", ack="✅ Received")
    await u.click("Send now")
    await wh.h.drain()
    await broadcasts_tick(wh.h.app)
    await u.click("📊 Confirmations")
    await u.click("Remind the 1")
    assert await wh.h.drain() == 1
    student = wh.user("KZ.ru")
    nudge = student.last()
    assert (nudge.template, nudge.language, nudge.titles) == (
        "mektep_reminder_read", "ru", ["Прочитал(а)"])
    assert nudge.ids == [BroadcastAckCD(id=await bc_id(wh)).pack()]
    await student.choose("Прочитал(а)")
    assert await acks(wh) == 1


@pytest.mark.parametrize(("locale", "button"), [("kk", "Оқыдым"), ("ru", "Прочитал(а)")])
async def test_a_photo_announcement_has_its_photo_as_the_header_uploaded_once(
        wh, locale, button):
    await make_coordinator(wh.h, COORDINATOR)
    for n in range(3):
        await wa_student(wh, f"KZ.{n}", locale, hours_silent=30)
    wh.h.api.files["AgPoster"] = PNG  # the coordinator's photo, as Telegram serves it
    u = wh.h.user(COORDINATOR)
    await u.send("/broadcast")
    await u.send_content(caption="Forum poster", photo=[
        {"file_id": "AgPoster", "file_unique_id": "p1", "width": 1, "height": 1}])
    await u.click("Students")
    await u.click("✅ Received")
    await u.click("Send now")
    assert await wh.h.drain() == 3
    sent = [s for s in wh.api.sent if s.type == "template"]
    assert {(s.template, s.language, s.body) for s in sent} == {
        ("mektep_announcement_photo_read", locale, "Forum poster")}
    assert {s.media_id for s in sent} != {None} and len({s.media_id for s in sent}) == 1
    assert wh.api.media[sent[0].media_id][0] == PNG
    await wh.user("KZ.1").choose(button)
    assert await acks(wh) == 1


async def test_wa_templates_names_a_template_approved_with_another_header_or_button(
        db_url, clock):
    wh = await harness(db_url, clock, whatsapp_business_account_id="WABA1")
    try:
        await make_staff(wh.h)
        for listed in wh.api.templates:
            if (listed["name"], listed["language"]) == ("mektep_announcement_photo", "ru"):
                listed["components"] = listed["components"][1:]  # approved without the image
            if (listed["name"], listed["language"]) == ("mektep_announcement_read", "kk"):
                listed["components"] = listed["components"][:-1]  # … without the button
            if (listed["name"], listed["language"]) == ("mektep_result", "en"):
                listed["category"] = "MARKETING"  # Meta reclassified it
        staff = wh.h.user(STAFF_TG_ID)
        await staff.send("/wa_templates")
        listing = "\n".join(staff.texts())
        assert ("❌ DIFFERENT (header) <code>mektep_announcement_photo</code> (ru, "
                "image header): Мектеп Парламенті: новое объявление. {{1}}") in listing
        assert ("❌ DIFFERENT (buttons) <code>mektep_announcement_read</code> (kk, quick-reply "
                "button “Оқыдым”): Мектеп Парламенті: жаңа хабарландыру. {{1}}\n\n"
                "Оқығаныңызды «Оқыдым» батырмасымен растаңыз.") in listing
        assert ("✅ <code>mektep_announcement_photo_read</code> (en, image header, quick-reply "
                "button “Read”)") in listing
        assert "❌ DIFFERENT (category) <code>mektep_result</code> (en)" in listing
        assert "Approved: 30 of 33." in listing
        assert "submit it again exactly as listed" in listing
    finally:
        await wh.close()
        await wh.h.close()


async def test_wa_templates_in_kazakh(db_url, clock):
    wh = await harness(db_url, clock, whatsapp_business_account_id="WABA1")
    try:
        await make_staff(wh.h)
        async with wh.h.app.sessionmaker() as s:
            await s.execute(update(User).values(locale="kk"))
            await s.commit()
        wh.h.app.users.forget(STAFF_TG_ID)
        staff = wh.h.user(STAFF_TG_ID)
        await staff.send("/wa_templates")
        listing = "\n".join(staff.texts())
        assert ("✅ <code>mektep_announcement_photo_read</code> (kk, сурет тақырыпта, «Оқыдым» "
                "жылдам жауап батырмасы)") in listing
    finally:
        await wh.close()
        await wh.h.close()


def test_readme_lists_every_template_to_submit_exactly_and_every_setting():
    """README's "Templates to submit" is what the centre types into WhatsApp Manager: each
    name with its header and button, each head and tail word for word; the steps to connect
    a number name every WHATSAPP_ variable."""
    from bot.config import Settings
    from bot.notices import templates
    from tests.e2e import ROOT

    text = (ROOT / "README.md").read_text()
    section = text[text.index("**Templates to submit**"):text.index("**Limits that shape")]
    for kind, photo, ack in templates.VARIANTS:
        name = templates.name_of(kind, photo, ack)
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
        header, button = (cell.strip() for cell in row.split("|")[2:4])
        t = templates.template(kind, "en", photo, ack)
        assert header == ("image" if photo else "document" if t.has_document else "—"), name
        assert button == (" / ".join(templates.BUTTONS[ack][lang]
                                     for lang in templates.LANGUAGES) if ack else "—"), name
    for lang in templates.LANGUAGES:
        for head in templates.HEADS.values():
            assert f"| {head[lang]} |" in section
        for tail in templates.TAILS.values():
            assert f"| {tail[lang]} |" in section
    assert f"eleven templates × 3 = {len(templates.required())}" in section
    for field in Settings.model_fields:
        if field.startswith("whatsapp_"):
            assert f"`{field.upper()}`" in text, field
    connect = text[text.index("**Connecting a real WhatsApp number**"):]
    for needle in ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET",
                   "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_BUSINESS_ACCOUNT_ID",
                   "https://bot.example.kz/whatsapp", "`messages`"):
        assert needle in connect[:4000], needle
