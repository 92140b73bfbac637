"""WhatsApp under the same Dispatcher (issue 16): a person on WhatsApp registers, presses
buttons and picks from lists and numbered menus through signed webhooks, against the fake
Cloud API; what they see is what the fake recorded."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from bot.channels.whatsapp.transport import BODY_LIMIT
from db.models import User, WaContact
from tests import fake_whatsapp as fw
from tests.harness import make_harness
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

BSUID = "KZ.11111111111111111111"



async def register_in_kazakh(u) -> None:
    await u.send("/start")
    assert u.last().type == "buttons"  # three languages: reply buttons
    await u.choose("Қазақша")
    await u.choose("Парламент мүшесі")
    await u.choose("Мектеп")
    regions = u.last()  # 20 regions: a numbered menu, its hint in Kazakh
    assert regions.type == "text" and "\n20. " in regions.body
    assert regions.body.endswith("Таңдағаныңыздың нөмірін жазыңыз.")
    await u.choose("Абай облысы")
    await u.choose("Семей")
    await u.send("№7 мектеп")
    await u.choose("Бақыт")
    await u.choose("Фракция жетекшісі")
    await u.send("9")
    await u.choose("16–17")


async def stored(wh: WaHarness, address: str) -> tuple[WaContact | None, User | None]:
    async with wh.h.app.sessionmaker() as s:
        contact = await s.scalar(select(WaContact).where(WaContact.address == address))
        user = None if contact is None else await s.scalar(
            select(User).where(User.tg_id == contact.ext_id))
        return contact, user


async def test_a_student_registers_in_kazakh_over_whatsapp(wh):
    u = wh.user(BSUID, "Айгерім")
    await register_in_kazakh(u)
    consent = u.last()
    assert consent.type == "buttons" and "✅ Келісемін" in consent.titles
    assert "<b>" not in consent.body and consent.body.startswith("*")  # HTML → WhatsApp bold
    await u.choose("Келісемін")
    assert any("Тіркелу аяқталды" in t for t in u.texts()[-3:])
    contact, user = await stored(wh, BSUID)
    assert contact is not None and contact.wa_id is None  # no phone number: still works
    assert user is not None
    assert (user.channel, user.tg_id, user.chat_id, user.locale, user.grade, user.org_name) == (
        "whatsapp", -contact.id, -contact.id, "kk", "9", "№7 мектеп")
    assert user.full_name == "Айгерім"
    assert not wh.api.refused  # nothing the Cloud API would refuse


async def test_menus_take_the_form_that_fits(wh):
    u = wh.user(BSUID)
    await u.send("/start")
    languages = u.last()
    assert (languages.type, languages.titles) == ("buttons", ["Қазақша", "Русский", "English"])
    await u.choose("English")
    role = u.last()
    assert role.type == "buttons"
    assert role.titles[0] == "Parliament member…"  # cut at a word, within 20 characters
    await u.choose("Parliament member")
    await u.choose("School")
    regions = u.last()
    assert regions.type == "text"  # 20 regions: a numbered menu
    assert "1. " in regions.body and "20. " in regions.body
    assert "Reply with the number of your choice." in regions.body
    await u.choose("Abai Region")
    assert "Semey" in u.last().body or "Semey" in " ".join(u.last().titles)
    for sent in u.sent():
        assert all(len(t) <= 20 for t in sent.titles if sent.type == "buttons")
        assert all(len(t) <= 24 for t in sent.titles if sent.type == "list")


async def test_a_number_answers_a_menu_only_while_it_is_the_last_message(wh):
    u = wh.user(BSUID)
    await u.send("/start")
    await u.choose("English")
    await u.choose("Parliament member")
    await u.choose("School")
    await u.choose("Abai Region")
    await u.choose("Semey")
    await u.send("School No. 7")
    await u.choose("Happiness")
    await u.choose("Faction member")
    assert "Which grade are you in?" in u.last().body  # a question with no menu
    await u.send("9")  # the grade, not option 9 of an older menu
    await u.choose("16–17")
    await u.choose("I agree")
    _, user = await stored(wh, BSUID)
    assert user is not None and user.grade == "9" and user.faction == "happiness"


async def test_a_bad_signature_gets_401_and_nothing_is_handled(wh):
    body = json.dumps(fw.webhook(BSUID, fw.text("/start"))).encode()
    assert await wh.post(body, fw.signature(body, "another-secret")) == 401
    assert await wh.post(body, None) == 401
    assert await wh.post(body + b" ", fw.signature(body)) == 401  # the body was changed
    assert wh.api.sent == []
    contact, _ = await stored(wh, BSUID)
    assert contact is None
    assert await wh.post(body, fw.signature(body)) == 200
    assert wh.api.to(BSUID)


async def test_a_large_batched_body_is_read_whole_and_an_oversized_one_refused(wh):
    """Meta batches up to 3 MB in one webhook: more than aiohttp's default 1 MiB."""
    batch = fw.webhook(BSUID, fw.text("/start"))
    batch["entry"][0]["changes"].append({"field": "statuses", "value": {
        "statuses": [{"id": f"wamid.S{n}", "status": "read"} for n in range(40_000)]}})
    body = json.dumps(batch).encode()
    assert 1024 * 1024 < len(body) < BODY_LIMIT
    assert await wh.post(body, fw.signature(body)) == 200
    assert wh.api.to(BSUID)  # the message in it was handled
    huge = body + b" " * BODY_LIMIT
    assert await wh.post(huge, fw.signature(huge)) == 413


async def test_the_verification_challenge(wh):
    ok = await wh.client.get("/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": fw.VERIFY_TOKEN, "hub.challenge": "4242"})
    assert (ok.status, await ok.text()) == (200, "4242")
    wrong = await wh.client.get("/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "4242"})
    assert wrong.status == 403


async def test_a_message_delivered_twice_is_handled_once(wh):
    u = wh.user(BSUID)
    first = await u.post(fw.text("/start"), wamid="wamid.SAME")
    again = await u.post(fw.text("/start"), wamid="wamid.SAME")
    assert first and again == []
    assert wh.wa.duplicates == 1


async def test_an_old_option_pressed_later_is_no_longer_active(wh):
    u = wh.user(BSUID)
    await u.send("/start")
    await u.choose("English")
    roles = u.last()
    await u.choose("Parliament member")
    await u.choose("School")
    await u.choose("Abai Region")
    # "Coordinator", from higher up in the chat: that question was answered
    answer = await u.post(fw.button_reply(roles.ids[1], roles.titles[1]))
    assert [s.body for s in answer] == ["This button is no longer active."]
    _, user = await stored(wh, BSUID)
    assert user is None  # nothing changed: still at the district question
    await u.choose("Semey")
    assert "Type the name of your school" in u.last().body


async def test_an_unknown_number_is_text_and_the_menu_stays(wh):
    u = wh.user(BSUID)
    await u.send("/start")
    await u.choose("English")
    await u.choose("Parliament member")
    await u.choose("School")
    await u.send("99")  # no region 99
    await u.choose("Abai Region")
    assert "Semey" in u.last().body or "Semey" in " ".join(u.last().titles)


async def test_media_arrive_as_telegram_media_naming_the_stored_copy(db_url, clock):
    """Handlers see a photo or a document whose file id names the copy downloaded when it
    arrived (bot.services.media_store); bot.download reads it even once WhatsApp has
    forgotten the media id."""
    from aiogram import F, Router

    seen = []

    def probe() -> list[Router]:
        router = Router()

        @router.message(F.photo | F.document)
        async def got_media(message, bot) -> None:
            media = message.photo[-1] if message.photo else message.document
            wh.api.expire(arrived.pop(0))  # WhatsApp forgot it: the stored copy serves
            data = await bot.download(media.file_id)
            seen.append((media.file_id, message.caption, data.read(),
                         message.document.file_name if message.document else None))

        return [router]

    h = await make_harness(db_url, clock, routers=probe, **WA_SETTINGS)
    wh = await attach_whatsapp(h)
    try:
        photo = wh.api.add_media(b"\x89PNG photo bytes", "image/png")
        pdf = wh.api.add_media(b"%PDF-1.7 essay", "application/pdf")
        arrived = [photo, pdf]
        u = wh.user(BSUID)
        await u.post(fw.media("image", photo, "image/png", caption="my poster"))
        await u.post(fw.media("document", pdf, "application/pdf", filename="essay.pdf"))
    finally:
        await wh.close()
        await h.close()
    png, essay = (f"store:{hashlib.sha256(b).hexdigest()}"
                  for b in (b"\x89PNG photo bytes", b"%PDF-1.7 essay"))
    assert seen == [(png, "my poster", b"\x89PNG photo bytes", None),
                    (essay, None, b"%PDF-1.7 essay", "essay.pdf")]


async def test_erasure_removes_the_whatsapp_contact(wh):
    u = wh.user(BSUID)
    await register_in_kazakh(u)
    await u.choose("Келісемін")
    _, user = await stored(wh, BSUID)
    assert user is not None
    await u.send("/deleteme")
    await u.choose(u.last().titles[0] if u.last().type == "buttons" else "1")
    contact, _ = await stored(wh, BSUID)
    async with wh.h.app.sessionmaker() as s:
        row = await s.get(User, user.id)
    assert contact is None
    assert row.status == "erased" and row.tg_id is None


async def test_what_the_bot_cannot_read_gets_the_usual_answer(wh):
    u = wh.user(BSUID)
    location = {"type": "location", "location": {"latitude": 43.2, "longitude": 76.9}}
    kk = wh.h.app.i18n.gettext  # nobody chose a language yet: Kazakh, the default
    answer = await u.post(location)
    assert [s.body for s in answer] == [kk(
        "I did not understand. Send /help to see what I can do.", locale="kk")]
    answer = await u.send("/nosuchcommand")
    assert [s.body for s in answer] == [kk(
        "I do not know this command. Send /help to see yours.", locale="kk")]
    assert answer[0].body.startswith("Мұндай команданы білмеймін")


async def test_statuses_and_other_fields_are_acknowledged_and_ignored(wh):
    status = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [
            {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1767000000",
             "recipient_id": BSUID}]}}]}]}
    body = json.dumps(status).encode()
    assert await wh.post(body, fw.signature(body)) == 200
    assert await wh.post(b"not json", fw.signature(b"not json")) == 400
    assert wh.api.sent == [] and wh.wa.handled == 0


async def test_the_last_message_time_is_kept_for_the_24_hour_window(wh, clock):
    u = wh.user(BSUID)
    started = clock.value
    await u.send("/start")
    clock.advance(minutes=1)
    await u.send("/help")
    again, _ = await stored(wh, BSUID)
    clock.advance(minutes=10)
    await u.send("/help")
    later, _ = await stored(wh, BSUID)
    assert again.last_inbound_at == started  # a minute later: not written again
    assert later.last_inbound_at == clock.value
