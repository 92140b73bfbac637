"""One person on Telegram and WhatsApp (issue 16, /link): a one-time code asked for in one
messenger and typed in the other makes both chats one account — counted once, reached once,
with the same rights — and /deleteme erases both. Telegram people talk through the harness,
WhatsApp people through signed webhooks to the fake Cloud API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from db.base import utcnow
from db.models import Delivery, LinkCode, User, WaContact
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import make_harness
from tests.test_broadcast import compose
from tests.test_whatsapp import register_in_kazakh
from tests.test_whatsapp_delivery import harness as delivery_harness
from tests.test_whatsapp_delivery import wa_student
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

BSUID = "KZ.22222222222222222222"
CODE = re.compile(r"\b(\d{6})\b")
DONE = {"kk": "Дайын: Telegram және WhatsApp енді бір аккаунтыңыз.",
        "ru": "Готово: ваши Telegram и WhatsApp теперь один аккаунт."}
LANGS = pytest.mark.parametrize("lang", ["kk", "ru"])



def tr(wh: WaHarness, msgid: str, lang: str) -> str:
    return wh.h.app.i18n.gettext(msgid, locale=lang)


async def telegram_code(u) -> str:
    await u.send("/link")
    return CODE.search(u.last_text()).group(1)


async def whatsapp_code(w) -> str:
    await w.send("/link")
    return CODE.search(w.last().body).group(1)


async def row(wh: WaHarness, model, *where):
    async with wh.h.app.sessionmaker() as s:
        return await s.scalar(select(model).where(*where))


async def linked_from_telegram(wh: WaHarness, tg_id: int, lang: str) -> tuple:
    """A Telegram student who linked the WhatsApp chat BSUID."""
    student = await make_student(wh.h, tg_id, locale=lang)
    u, w = wh.h.user(tg_id), wh.user(BSUID)
    code = await telegram_code(u)
    [answer] = await w.send(f"/link {code}")
    assert answer.body.startswith(DONE[lang])
    return student, u, w


@LANGS
async def test_a_telegram_person_links_their_whatsapp(wh, lang):
    student, u, w = await linked_from_telegram(wh, 101, lang)
    assert "15" in u.last_text() and "WhatsApp" in u.last_text()
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    assert contact.user_id == student.id
    # WhatsApp now talks as the student, in their language, in the WhatsApp chat
    await w.send("/profile")
    assert "School No. 1" in w.last().body
    me = await row(wh, User, User.id == student.id)
    assert (me.tg_id, me.chat_id, me.channel) == (101, 101, "telegram")  # news: as before
    # the answer said so, and offered to bring the news to WhatsApp
    done = next(s for s in reversed(w.sent()) if s.body.startswith(DONE[lang]))
    assert done.body.endswith({"kk": "Telegram арқылы келеді.",
                               "ru": "приходят в Telegram."}[lang])
    assert done.type == "buttons"
    assert done.titles == [{"kk": "📩 Жаңалықтар осында", "ru": "📩 Новости сюда"}[lang]]
    assert await row(wh, func.count(User.id)) == 1


@LANGS
async def test_a_whatsapp_person_links_their_telegram(wh, lang):
    student = await wa_student(wh, BSUID, lang, hours_silent=1)
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    w = wh.user(BSUID)
    code = await whatsapp_code(w)
    assert "Telegram" in w.last().body
    u = wh.h.user(555, language_code=lang)
    await u.send(f"/link {code}")
    assert u.last_text().startswith(DONE[lang])
    me = await row(wh, User, User.id == student.id)
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    # the Telegram id is the person's now; news keeps going to WhatsApp, where they registered
    assert (me.tg_id, me.chat_id, contact.user_id) == (555, -contact.id, student.id)
    await u.send("/profile")
    assert "School No. 1" in u.last_text()
    await w.send("/profile")
    assert "School No. 1" in w.last().body
    assert await row(wh, func.count(User.id)) == 1


WRONG = {"kk": "Қате код. {n} әрекет қалды.", "ru": "Неверный код. Осталось {n} попытки."}
FORMAT = {"kk": "Код 6 цифрдан тұрады", "ru": "Код — 6 цифр"}
EXPIRED = {"kk": "Кодтың мерзімі өтті: код 15 минут жарамды.",
           "ru": "Срок действия кода истёк: код действует 15 мин."}
TOO_MANY = {"kk": "Бұл чаттан қате кодтар тым көп. 60 минуттан кейін",
            "ru": "Слишком много неверных кодов из этого чата. Попробуйте через 60 мин."}
USED = {"kk": "Бұл код бұрын пайдаланылған.", "ru": "Этот код уже использован."}


@LANGS
async def test_wrong_expired_reused_and_guessed_codes_are_answered_clearly(wh, clock, lang):
    """kk: asked on Telegram, typed in a new WhatsApp chat (Kazakh, the default); ru: asked
    on WhatsApp, typed in a Telegram chat whose app speaks Russian."""
    if lang == "kk":
        await make_student(wh.h, 101, locale="kk")
        owner = wh.h.user(101)
        ask = lambda: telegram_code(owner)  # noqa: E731
        guest, other = wh.user(BSUID), wh.user("KZ.other")

        async def say(who, text: str) -> str:
            return (await who.send(text))[-1].body
    else:
        await wa_student(wh, "KZ.owner", "ru", hours_silent=1)
        owner = wh.user("KZ.owner")
        ask = lambda: whatsapp_code(owner)  # noqa: E731
        guest = wh.h.user(555, language_code="ru")
        other = wh.h.user(556, language_code="ru")

        async def say(who, text: str) -> str:
            await who.send(text)
            return who.last_text()

    code = await ask()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert (await say(guest, "/link 12")).startswith(FORMAT[lang])
    assert await say(guest, f"/link {wrong}") == WRONG[lang].format(n=4)
    clock.advance(minutes=16)
    assert (await say(guest, f"/link {code}")).startswith(EXPIRED[lang])
    for _ in range(4):
        answer = await say(guest, f"/link {wrong}")
    assert answer.startswith({"kk": "Қате код. 0", "ru": "Неверный код. Осталось 0"}[lang])
    fresh = await ask()
    assert (await say(guest, f"/link {fresh}")).startswith(TOO_MANY[lang])  # even the right one
    clock.advance(hours=1)
    fresh = await ask()
    # a bare /link in a new chat asks for the code; the code then comes alone
    await say(guest, "/link")
    assert (await say(guest, fresh)).startswith(DONE[lang])
    assert (await say(other, f"/link {fresh}")).startswith(USED[lang])
    async with wh.h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count(User.id))) == 1


BOTH = {"kk": "Бұл чатта өз тіркелуі бар, сондықтан ол байланыстырылмайды",
        "ru": "В этом чате есть своя регистрация, поэтому он не связан"}


@LANGS
async def test_a_chat_with_its_own_registration_is_not_merged(wh, lang):
    telegram = await make_student(wh.h, 101, locale=lang, org_name="School A")
    whatsapp = await wa_student(wh, BSUID, lang, hours_silent=1)
    code = await telegram_code(wh.h.user(101))
    w = wh.user(BSUID)
    [answer] = await w.send(f"/link {code}")
    assert answer.body.startswith(BOTH[lang]) and "/deleteme" in answer.body
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    assert contact.user_id is None
    assert [(await row(wh, User, User.id == p.id)).tg_id for p in (telegram, whatsapp)] == [
        101, -contact.id]


@LANGS
async def test_a_linked_person_is_counted_once_in_stats(wh, clock, lang):
    clock.value = utcnow()  # /stats' week is the week the registration is logged in
    await make_staff(wh.h, STAFF_ID, locale=lang)
    w = wh.user(BSUID, "Айгерім")
    await register_in_kazakh(w)
    await w.choose("Келісемін")
    code = await whatsapp_code(w)
    u = wh.h.user(555)
    await u.send(f"/link {code}")
    await u.send("/start")  # registered already: the menu, not a second registration
    await w.send("/start")
    staff = wh.h.user(STAFF_ID)
    await staff.send("/stats week")
    members = tr(wh, "Parliament members", lang)
    text = wh.h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert f"{members}: <b>1</b>" in text
    assert await row(wh, func.count(User.id), User.role == "student") == 1


@LANGS
async def test_a_broadcast_reaches_a_linked_person_once_where_they_chose(db_url, clock, lang):
    wh = await delivery_harness(db_url, clock)
    try:
        await make_coordinator(wh.h, 201)
        student, _u, w = await linked_from_telegram(wh, 101, lang)
        coordinator = wh.h.user(201)
        await compose(coordinator, "News one")
        await coordinator.click("Send now")
        await wh.h.drain()
        assert wh.h.api.texts(101).count("News one") == 1
        assert "News one" not in w.texts()
        await w.choose("📩")  # "Send news here", in WhatsApp
        assert w.last().body == {
            "kk": "Жаңалықтар мен хабарламалар енді осында, WhatsApp арқылы келеді.",
            "ru": "Новости и уведомления теперь приходят сюда, в WhatsApp."}[lang]
        await compose(coordinator, "News two")
        assert "Recipients: 1" in coordinator.last_text()
        await coordinator.click("Send now")
        await wh.h.drain()
        assert w.texts().count("News two") == 1
        assert "News two" not in wh.h.api.texts(101)
        async with wh.h.app.sessionmaker() as s:
            rows = (await s.scalars(select(Delivery).where(
                Delivery.user_id == student.id))).all()
        assert len(rows) == 2 and {r.status for r in rows} == {"sent"}
    finally:
        await wh.close()
        await wh.h.close()


@LANGS
async def test_staff_keep_their_rights_on_a_linked_whatsapp(wh, lang):
    await make_staff(wh.h, STAFF_ID, locale=lang)
    w = wh.user(BSUID)
    [refused] = await w.send("/wa_templates")  # a guest's chat, before the link
    assert refused.body.startswith("Кешіріңіз")
    code = await telegram_code(wh.h.user(STAFF_ID))
    await w.send(f"/link {code}")
    listing, *_ = await w.send("/wa_templates")  # long: in several messages
    assert "mektep_announcement" in listing.body
    assert listing.body.startswith(tr(
        wh, "WhatsApp templates the bot needs (category Utility; {{1}} is the message itself):",
        lang).split("(")[0])
    await w.send("/demote 12345")  # a staff command with its own answer, not a refusal
    assert tr(wh, "Sorry, this command is not available to you.", lang) not in w.last().body


def test_staff_whatsapp_reads_phone_numbers_and_ids():
    settings = Settings(_env_file=None, staff_whatsapp="+7 701 123-45-67, KZ.abc ,")
    assert settings.staff_whatsapp == frozenset({"77011234567", "KZ.abc"})


async def test_staff_whatsapp_bootstraps_staff(db_url, clock):
    h = await make_harness(db_url, clock, flood_limit=1000, **WA_SETTINGS,
                           staff_whatsapp=frozenset({"77011234567", "KZ.newstaff"}))
    wh = await attach_whatsapp(h)
    try:
        # registered before the number was listed: staff at the next start
        contact = await wh.wa.contacts.arrive("KZ.listed", "77011234567")
        await make_student(h, contact.ext_id, locale="ru")
        w = wh.user("KZ.listed", wa_id="77011234567")
        [refused] = await w.send("/wa_templates")
        assert refused.body.startswith("Извините")
        await h.app.bootstrap_staff()
        listing, *_ = await w.send("/wa_templates")
        assert "mektep_announcement" in listing.body
        # listed before registering: registers as staff (language and consent only)
        new = wh.user("KZ.newstaff")
        await new.send("/start")
        await new.choose("Қазақша")
        await new.choose("Келісемін")
        me = await row(wh, User, User.tg_id == -(await row(
            wh, WaContact, WaContact.address == "KZ.newstaff")).id)
        assert (me.role, me.status) == ("staff", "active")
        # someone else on WhatsApp is not
        other = wh.user("KZ.other", wa_id="77019999999")
        await other.send("/start")
        await other.choose("Қазақша")
        assert "Парламент мүшесі" in " ".join(other.last().titles)
    finally:
        await wh.close()
        await h.close()


@LANGS
async def test_deleteme_erases_both_messengers(wh, lang):
    student, u, w = await linked_from_telegram(wh, 101, lang)
    await w.send("/deleteme")  # from WhatsApp
    await w.choose(w.last().titles[0])
    me = await row(wh, User, User.id == student.id)
    assert (me.status, me.tg_id, me.chat_id) == ("erased", None, None)
    assert await row(wh, WaContact, WaContact.address == BSUID) is None
    await u.send("/profile")  # Telegram: a guest now (the default language)
    assert tr(wh, "You are not registered yet. Send /start.", "kk") in u.last_text()


@LANGS
async def test_deleteme_from_telegram_erases_the_whatsapp_contact_too(wh, lang):
    student = await wa_student(wh, BSUID, lang, hours_silent=1)
    code = await whatsapp_code(wh.user(BSUID))
    u = wh.h.user(555, language_code=lang)
    await u.send(f"/link {code}")
    await u.send("/deleteme")
    await u.click(tr(wh, "Yes, erase my data", lang))
    me = await row(wh, User, User.id == student.id)
    assert (me.status, me.tg_id) == ("erased", None)
    assert await row(wh, WaContact, WaContact.address == BSUID) is None


@LANGS
async def test_unlink_keeps_the_registration_on_telegram(wh, lang):
    student, u, w = await linked_from_telegram(wh, 101, lang)
    await w.choose("📩")  # news to WhatsApp
    await u.send("/unlink")
    assert u.last_text().startswith({"kk": "Telegram және WhatsApp қайта ажыратылды.",
                                     "ru": "Telegram и WhatsApp снова разделены."}[lang])
    me = await row(wh, User, User.id == student.id)
    assert (me.tg_id, me.chat_id, me.channel) == (101, 101, "telegram")
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    assert contact.user_id is None
    [refused] = await w.send("/profile")  # WhatsApp: a guest again
    assert "/start" in refused.body


async def test_the_code_expires_after_fifteen_minutes_not_before(wh, clock):
    await make_student(wh.h, 101, locale="kk")
    code = await telegram_code(wh.h.user(101))
    clock.advance(minutes=14)
    [answer] = await wh.user(BSUID).send(f"/link {code}")
    assert answer.body.startswith(DONE["kk"])


@LANGS
async def test_a_code_links_two_messengers_not_two_chats_of_one(wh, lang):
    await wa_student(wh, "KZ.owner", lang, hours_silent=1)
    owner = wh.user("KZ.owner")
    code = await whatsapp_code(owner)
    [same] = await owner.send(f"/link {code}")  # the chat that asked for it
    assert same.body == {
        "kk": "Бұл чат аккаунтыңызға қосылған. Кодты басқа мессенджерде жіберіңіз.",
        "ru": "Этот чат уже относится к вашему аккаунту. Отправьте код в другом мессенджере."
    }[lang]
    [second] = await wh.user("KZ.second").send(f"/link {code}")  # another WhatsApp chat
    assert second.body == tr(wh, "The account that asked for this code already has this "
                             "messenger: a code links a Telegram chat with a WhatsApp chat.",
                             "kk")
    async with wh.h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WaContact).where(
            WaContact.user_id.is_not(None))) == 0
    # linked: /link shows where news goes instead of a new code
    u = wh.h.user(555, language_code=lang)
    await u.send(f"/link {code}")
    await u.send("/link")
    assert u.last_text().startswith({"kk": "Сіздің Telegram және WhatsApp бір аккаунтқа",
                                     "ru": "Ваши Telegram и WhatsApp — один аккаунт."}[lang])
    assert CODE.search(u.last_text()) is None


async def test_blocking_the_telegram_bot_does_not_stop_news_on_whatsapp(wh):
    from tests.test_system import member_update

    student, _u, w = await linked_from_telegram(wh, 101, "ru")
    await w.choose("📩")  # news to WhatsApp
    await wh.h.feed(member_update(101, "kicked"))
    assert not (await row(wh, User, User.id == student.id)).blocked_bot
    [answer] = await w.send("/unlink")  # news back on Telegram, which they blocked…
    await wh.h.feed(member_update(101, "kicked"))
    assert (await row(wh, User, User.id == student.id)).blocked_bot  # …so now it counts
    assert answer.body.startswith("Telegram и WhatsApp снова разделены.")


async def test_mydata_from_telegram_lists_what_the_linked_whatsapp_holds(wh):
    """/mydata is everything stored about the person: the files sent from the linked
    WhatsApp chat (kept under that chat's id) and the WhatsApp address itself."""
    from bot.services.personal_data import export_user_data
    from tests import fake_whatsapp as fw

    student, _u, w = await linked_from_telegram(wh, 101, "ru")
    media_id = wh.api.add_media(b"\x89PNG\r\n\x1a\n linked", "image/png")
    await w.post(fw.media("image", media_id, "image/png"))
    async with wh.h.app.sessionmaker() as s:
        data = await export_user_data(s, await s.get(User, student.id))
    assert [f["mime"] for f in data["files_sent"]] == ["image/png"]
    assert [c["address"] for c in data["whatsapp"]] == [BSUID]


async def test_a_message_on_the_linked_whatsapp_keeps_the_telegram_username(wh):
    """WhatsApp knows no @username: the person's messages there must not wipe the one their
    Telegram gave, or staff could no longer name them by it (/promote @name, the jury)."""
    await make_staff(wh.h, STAFF_ID)
    student, _u, w = await linked_from_telegram(wh, 101, "ru")
    u = wh.h.user(101, username="Aida_K")
    await u.send("/help")
    assert (await row(wh, User, User.id == student.id)).username == "aida_k"
    await w.send("/help")
    assert (await row(wh, User, User.id == student.id)).username == "aida_k"
    staff = wh.h.user(STAFF_ID)
    await staff.send("/promote @aida_k")
    assert staff.last_text().startswith("Make this person centre staff?")  # found by it


BUTTON_WORDS = {"kk": "Telegram-нан таңдау", "ru": "Выбрать в Telegram"}
NAME_HINT = {"kk": "Аты-жөнінің бір бөлігін не @username атын жазыңыз",
             "ru": "Напишите часть имени или @username"}


@LANGS
async def test_staff_on_whatsapp_are_not_sent_to_a_telegram_only_button(wh, lang):
    """The people picker's "Choose in Telegram" button exists only in Telegram: on WhatsApp
    the prompt asks for a name or @username and mentions no button."""
    await make_staff(wh.h, STAFF_ID, locale=lang)
    w = wh.user(BSUID)
    await w.send(f"/link {await telegram_code(wh.h.user(STAFF_ID))}")
    await w.send("/promote")
    assert NAME_HINT[lang] in w.last().body
    assert BUTTON_WORDS[lang] not in w.last().body
    u = wh.h.user(STAFF_ID)
    await u.send("/promote")
    assert BUTTON_WORDS[lang] in u.last_text()



async def test_two_codes_typed_in_one_chat_at_once_link_it_once(wh, clock, monkeypatch):
    """Two redeems in one chat both read it as free (the review's N1): the second must not
    take it over, and its code stays unused for a second try elsewhere."""
    from bot.services import links
    from bot.services.errors import DomainError

    first, second = await make_student(wh.h, 101), await make_student(wh.h, 102)
    code_a, code_b = await telegram_code(wh.h.user(101)), await telegram_code(wh.h.user(102))
    await wh.user(BSUID).send(f"/link {code_a}")
    contact = await row(wh, WaContact, WaContact.address == BSUID)
    assert contact.user_id == first.id

    async def read_before_the_first_wrote(session, owner, chat_id):
        return await session.get(WaContact, -chat_id)

    monkeypatch.setattr(links, "_contact_to_link", read_before_the_first_wrote)
    async with wh.h.app.sessionmaker() as s:
        with pytest.raises(DomainError) as refused:
            await links.redeem(s, wh.h.app.users, code_b, -contact.id, -contact.id, clock())
        await s.commit()  # a refusal's reply commits the update's work (CommitBeforeRequest)
    assert refused.value.code == "link_both_registered"
    assert (await row(wh, WaContact, WaContact.id == contact.id)).user_id == first.id
    assert (await row(wh, LinkCode, LinkCode.user_id == second.id)).used_at is None
