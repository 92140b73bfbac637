"""Minors waiting for a guardian's confirmation (review 2026-12: M3, M4, I6).

A child's limits are stored with the registration itself, and until a guardian confirms the
account takes part only as the model's comment on `User.limited` says: the walk at the end
of this file checks each line of that comment.
"""

from __future__ import annotations

import re

from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from sqlalchemy import select

from bot.local_api import ApiCall
from db.models import User
from tests.factories import make_student


def fail_once(h, method: str = "sendMessage", chat_id: int | None = None):
    """The next `method` call (to `chat_id`) raises 403, as when the user blocks the bot."""
    state = {"left": 1}

    def fault(call: ApiCall) -> None:
        if call.method == method and (chat_id is None or call.chat_id == chat_id) \
                and state["left"]:
            state["left"] -= 1
            raise TelegramForbiddenError(
                method=SendMessage(chat_id=call.chat_id or 0, text="-"),
                message="Forbidden: bot was blocked by the user")

    h.api.fault = fault
    return state


async def answer_until_consent(u, age_button: str = "Under 14") -> None:
    await u.send("/start")
    await u.click("English")
    for button in ("Parliament member", "School", "Abai Region", "Semey"):
        await u.click(button)
    await u.send("School No. 3")
    await u.click("Care")
    await u.click("Faction member")
    await u.send("7")
    await u.click(age_button)
    assert "Consent to the processing of personal data" in u.last_text()


async def stored(h, tg_id: int) -> User | None:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User).where(User.tg_id == tg_id))


# --- M3: the limits are stored with the registration, before any reply ----------------------

async def test_m3_minor_limits_stored_before_first_reply(h):
    from tests.test_challenges import new_challenge

    await new_challenge(h, "challenge", content=("photo", "text"))
    u = h.user(501, "Dana")
    await answer_until_consent(u)
    left = fail_once(h, "sendMessage", chat_id=501)  # "Registration complete" fails
    await u.click("I agree")
    h.api.fault = None
    assert left["left"] == 0, "the reply after consent was never attempted"
    child = await stored(h, 501)
    assert (child.status, child.age_band, child.limited) == ("active", "u14", True)
    assert child.guardian_token, "no guardian link could ever be sent"

    # The child's next entry is refused, and /profile still gives the guardian link.
    await u.send("/challenges")
    await u.click("My class")
    await u.click("Send my entry")
    assert "until a parent or guardian confirms" in u.last_text()
    await u.send("/profile")
    assert f"?start=g_{child.guardian_token}" in u.last_text()


async def test_m3_adult_student_is_stored_unlimited_with_its_band(h):
    u = h.user(502)
    await answer_until_consent(u, "16–17")
    fail_once(h, "sendMessage", chat_id=502)
    await u.click("I agree")
    h.api.fault = None
    adult = await stored(h, 502)
    assert (adult.age_band, adult.limited, adult.guardian_token) == ("16_17", False, None)


async def test_m3_guardian_confirmation_notice_survives_a_failed_reply(h):
    """The student's "your guardian confirmed" notice is queued with the confirmation, not
    after the reply to the guardian (who may block the bot right after pressing)."""
    u = h.user(503, "Dana")
    await answer_until_consent(u)
    await u.click("I agree")
    token = re.search(r"start=g_([\w-]+)", next(
        t for t in u.texts() if "account is limited" in t)).group(1)
    parent = h.user(778, "Parent", language_code="en")
    await parent.send(f"/start g_{token}")
    fail_once(h, "sendMessage", chat_id=778)  # "Thank you! The account is now confirmed."
    await parent.click("I confirm")
    h.api.fault = None
    assert (await stored(h, 503)).limited is False
    await h.drain()
    assert "confirmed your account" in u.last_text()


async def test_m3_erasure_is_done_even_when_the_reply_fails(h):
    """/deleteme → Yes erases the data before anything is sent back: a person who blocks the
    bot right after pressing is still erased."""
    await make_student(h, 504)
    u = h.user(504)
    await u.send("/deleteme")
    fail_once(h, "editMessageReplyMarkup", chat_id=504)
    await u.click("Yes, erase my data")
    h.api.fault = None
    assert await stored(h, 504) is None  # the Telegram id is gone: erased
