"""Blocking the bot, flood control, group chats, duplicate updates."""

from __future__ import annotations

from aiogram.types import Update
from sqlalchemy import select

from db.models import ProcessedUpdate, User
from tests.harness import make_harness
from tests.test_registration import register_student


def member_update(uid: int, status: str) -> dict:
    bot = {"id": 1, "is_bot": True, "first_name": "B"}
    old, new = ("member", "kicked") if status == "kicked" else ("kicked", "member")
    return {"my_chat_member": {
        "chat": {"id": uid, "type": "private"}, "date": 0,
        "from": {"id": uid, "is_bot": False, "first_name": "S"},
        "old_chat_member": member(old, bot), "new_chat_member": member(new, bot)}}


def member(status: str, bot: dict) -> dict:
    return {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}


async def blocked(h, uid: int) -> bool:
    async with h.app.sessionmaker() as s:
        return (await s.scalar(select(User).where(User.tg_id == uid))).blocked_bot


async def test_blocking_and_unblocking_the_bot_is_recorded(h):
    u = h.user(601)
    await register_student(u)
    await u.click("I agree")
    await h.feed(member_update(601, "kicked"))
    assert await blocked(h, 601) is True
    await h.feed(member_update(601, "member"))
    assert await blocked(h, 601) is False


async def test_flood_gets_one_notice_and_others_are_unaffected(tmp_path):
    h = await make_harness(str(tmp_path / "f.db"), flood_limit=5, flood_window=10)
    try:
        flooder, other = h.user(701, language_code="en"), h.user(702, language_code="en")
        for _ in range(12):
            await flooder.send("/help")
        notices = [t for t in flooder.texts() if "too fast" in t]
        answers = [t for t in flooder.texts() if "Commands" in t]
        assert len(notices) == 1 and len(answers) == 5
        await other.send("/help")
        assert "Commands" in other.last_text()
    finally:
        await h.close()


async def test_a_button_pressed_in_a_flood_is_answered_and_the_notice_still_comes(tmp_path):
    h = await make_harness(str(tmp_path / "f.db"), flood_limit=3, flood_window=10)
    try:
        flooder = h.user(703, language_code="en")
        for _ in range(3):
            await flooder.send("/help")
        await flooder.press("lang:ru")  # over the limit: answered, so no spinner hangs
        answer = h.api.of("answerCallbackQuery", None)[-1].params
        assert "too fast" in answer["text"]
        await flooder.send("/help")
        assert "too fast" in flooder.last_text()  # the one message notice was not used up
    finally:
        await h.close()


async def test_group_messages_get_no_reply(h):
    start = len(h.api.calls)
    await h.feed({"message": {"message_id": 5, "date": 0, "text": "hello bot",
                              "chat": {"id": -100500, "type": "supergroup", "title": "Coords"},
                              "from": {"id": 55, "is_bot": False, "first_name": "C"}}})
    assert h.api.calls[start:] == []


async def test_a_redelivered_update_is_handled_once(h):
    from bot.polling import handle_batch

    payload = {"update_id": 424242, "message": {
        "message_id": 9, "date": 0, "text": "/help", "chat": {"id": 801, "type": "private"},
        "from": {"id": 801, "is_bot": False, "first_name": "R", "language_code": "en"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
    update = Update.model_validate(payload, context={"bot": h.app.bot})
    await handle_batch(h.app, [update])
    await handle_batch(h.app, [update])  # Telegram sends it again after a crash
    assert len(h.api.of("sendMessage", 801)) == 1
    async with h.app.sessionmaker() as s:
        assert await s.get(ProcessedUpdate, 424242) is not None


async def test_a_failing_handler_gets_an_apology_in_the_users_language(h):
    from aiogram import Router
    from aiogram.filters import Command

    boom = Router(name="boom")

    @boom.message(Command("help"))
    async def explode(message) -> None:
        raise RuntimeError("boom")

    h.app.dp.sub_routers.insert(0, boom)
    boom._parent_router = h.app.dp
    u = h.user(901, language_code="ru")
    await u.send("/help")
    assert u.last_text() == "Извините, что-то пошло не так. Попробуйте ещё раз."


async def test_a_reply_that_meets_429_is_sent_after_the_wait(h):
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    faults = {"left": 1}

    def flood_once(call) -> None:
        if call.method == "sendMessage" and faults["left"]:
            faults["left"] -= 1
            raise TelegramRetryAfter(method=SendMessage(chat_id=1, text="x"),
                                     message="Too Many Requests", retry_after=1)

    h.api.fault = flood_once
    u = h.user(902, language_code="en")
    await u.send("/help")
    assert faults["left"] == 0
    assert "Commands" in u.last_text()
