"""Forged button values are refused, never stored (review 2026-12, I1): a button's data is
whatever the client sends, so every value a callback stores is checked against what the bot
offered."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.callbacks import CertCD, LangCD, WebinarWizCD
from db.models import User
from tests.factories import make_staff
from tests.test_registration import register_student

NO_LONGER = "This button is no longer active."


async def fsm_data(h, tg_id: int) -> dict:
    return await h.app.storage.get_data(StorageKey(bot_id=h.app.bot.id, chat_id=tg_id,
                                                   user_id=tg_id))


def last_answer(h) -> str:
    return h.api.of("answerCallbackQuery", None)[-1].params.get("text") or ""


async def test_i1_forged_registration_language_is_refused(h):
    u = h.user(801)
    await u.send("/start")
    await u.press(LangCD(code="en|c").pack())  # the review's forged `lang:en|c`
    assert last_answer(h) == h.app.i18n.t("kk", NO_LONGER)  # a guest: the default language
    assert "locale" not in await fsm_data(h, 801)
    await u.press("lang:xx")
    assert "locale" not in await fsm_data(h, 801)
    assert "Choose your language" in u.last_text()  # still the first question
    await register_student(u)  # the real buttons still work from here
    await u.click("I agree")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User.locale).where(User.tg_id == 801)) == "en"


async def test_i1_answers_kept_with_a_bad_language_are_not_stored(h):
    """Answers collected before the check existed (FSM data survives restarts) are refused at
    consent rather than stored with a locale no catalog has."""
    u = h.user(802)
    await register_student(u)
    key = StorageKey(bot_id=h.app.bot.id, chat_id=802, user_id=802)
    data = await h.app.storage.get_data(key)
    await h.app.storage.set_data(key, {**data, "locale": "en|c"})
    await u.click("I agree")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.tg_id == 802)) is None


async def test_i1_forged_webinar_audience_and_certificate_template_are_refused(h):
    await make_staff(h)
    staff = h.user(900)
    await staff.send("/newwebinar")
    for text in ("Көшбасшылық мектебі", "Школа лидерства"):
        await staff.send(text)
    await staff.click("Skip")
    for text in ("Сипаттама", "Описание"):
        await staff.send(text)
    await staff.click("Skip")
    for text in ("12.03.2026 15:00", "90", "https://zoom.us/j/123456", "Aliya Nurlanovna"):
        await staff.send(text)
    for forged in ("roles=staff", "regions=999999", "factions=<b>x</b>"):
        await staff.press(WebinarWizCD(action="aud", value=forged).pack())
        assert last_answer(h) == NO_LONGER, forged
    assert (await fsm_data(h, 900)).get("audience", {}) == {}
    await staff.click("Parliament member (student)")  # a real button still works
    assert (await fsm_data(h, 900))["audience"] == {"roles": ["student"]}

    await staff.send("/cancel")
    for action in ("bg", "sig"):
        await staff.press(CertCD(action=action, template="../../etc").pack())
        assert last_answer(h) == NO_LONGER, action
        assert "cert_template" not in await fsm_data(h, 900)
