"""Minors: below the guardian age an account is limited until a parent or guardian confirms."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import ActivityLog, User
from tests.factories import make_student
from tests.test_registration import register_student


async def test_minor_is_limited_until_guardian_confirms(h):
    u = h.user(401, "Dana")
    await u.send("/start")
    await u.click("English")
    for button in ("Parliament member", "School", "Abai Region", "Semey"):
        await u.click(button)
    await u.send("School No. 3")
    await u.click("Care")
    await u.click("Faction member")
    await u.send("7")
    await u.click("Under 14")
    await u.click("I agree")
    limited_text = next(t for t in u.texts() if "account is limited" in t)
    token = re.search(r"start=g_([\w-]+)", limited_text).group(1)
    async with h.app.sessionmaker() as s:
        student = await s.scalar(select(User).where(User.tg_id == 401))
        assert (student.limited, student.age_band) == (True, "u14")

    await u.send("/profile")  # the registration message may be lost: the link is here too
    assert "Forward them this link:\nhttps://t.me/" in u.last_text()
    assert f"?start=g_{token}" in u.last_text()
    refusal = "Only a parent or guardian can confirm with this link. Please forward it to them."
    await u.send(f"/start g_{token}")  # the student themself
    assert u.last_text() == refusal and "I confirm" not in u.buttons()
    await u.press(f"grd:{token}")  # nor by pressing the button's data directly
    assert h.api.of("answerCallbackQuery", None)[-1].params["text"] == refusal
    await make_student(h, 402, locale="ru")  # nor a classmate
    classmate = h.user(402)
    await classmate.send(f"/start g_{token}")
    assert classmate.last_text() == ("Подтвердить по этой ссылке может только родитель или "
                                     "законный представитель. Перешлите её им.")
    async with h.app.sessionmaker() as s:
        assert (await s.scalar(select(User).where(User.tg_id == 401))).limited is True

    parent = h.user(777, "Parent", language_code="en")
    await parent.send(f"/start g_{token}")
    assert "Dana (School No. 3)" in parent.last_text()
    await parent.click("I confirm")
    # the child's language (en) first, the other two below it (issue 17)
    assert parent.last_text() == "\n\n— — —\n\n".join((
        "Thank you! The account is now confirmed.", "Рақмет! Тіркелгі расталды.",
        "Спасибо! Учётная запись подтверждена."))
    await h.drain()
    assert "confirmed your account" in u.last_text()
    async with h.app.sessionmaker() as s:
        student = await s.scalar(select(User).where(User.tg_id == 401))
        assert student.limited is False and student.guardian_token is None
        assert student.guardian_consent_at == h.app.now()
        assert student.guardian_consent_version == h.app.settings.consent_version
        assert await s.scalar(select(ActivityLog.kind).where(
            ActivityLog.kind == "guardian_confirmed")) == "guardian_confirmed"
        # the parent's Telegram account stored nothing
        assert await s.scalar(select(User).where(User.tg_id == 777)) is None

    await parent.send(f"/start g_{token}")  # one-time link
    assert parent.last_text() == "This confirmation link is not valid or was already used."


async def test_sixteen_and_older_are_not_limited(h):
    u = h.user(402)
    await register_student(u)  # 16–17
    await u.click("I agree")
    assert not any("account is limited" in t for t in u.texts())
    async with h.app.sessionmaker() as s:
        student = await s.scalar(select(User).where(User.tg_id == 402))
        assert student.limited is False and student.guardian_token is None


async def test_limited_minor_can_neither_join_nor_send_entries(h):
    """Joining an action is the participation itself (review I6): refused like an entry."""
    from sqlalchemy import update

    from tests.test_challenges import new_challenge

    await new_challenge(h, "challenge", content=("photo", "text"))
    await make_student(h, 403, locale="en")
    async with h.app.sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.tg_id == 403).values(
            limited=True, guardian_token="tok403"))
    h.app.users.forget(403)
    u = h.user(403)
    await u.send("/challenges")
    await u.click("My class")
    await u.click("Join")
    assert "A parent or guardian has to confirm your account first" in u.last_text()
    assert "?start=g_tok403" in u.last_text()
    await u.click("Send my entry")
    assert "A parent or guardian has to confirm your account first" in u.last_text()
