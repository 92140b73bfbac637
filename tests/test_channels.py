"""Telegram as a channel: what it sends for an OutgoingMessage, and how each of Telegram's
answers reaches the delivery queue (bot.channels.base's taxonomy)."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.channels import Blocked, Refused, RetryAfter, Transient
from bot.services.delivery import Button, OutgoingMessage

METHOD = SendMessage(chat_id=1, text="x")


def fail_with(h, error: Exception) -> None:
    def fault(call):
        raise error

    h.api.fault = fault


async def test_telegram_sends_text_with_buttons_and_says_it_can_edit(h):
    telegram = h.app.channels["telegram"]
    assert (telegram.name, telegram.can_edit) == ("telegram", True)
    message = OutgoingMessage(text="<b>Hi</b>", html=True,
                              buttons=[[Button("Open", url="https://example.kz")]])
    message_id = await telegram.send(101, message)
    [call] = h.api.of("sendMessage", 101)
    assert message_id and call.params["text"] == "<b>Hi</b>" and call.html
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.kz"


async def test_telegram_edits_the_text_and_buttons_of_a_sent_message(h):
    telegram = h.app.channels["telegram"]
    message_id = await telegram.send(101, OutgoingMessage(text="Sent: 1 of 8", html=True))
    await telegram.edit(101, message_id, OutgoingMessage(
        text="Sent: 8 of 8", html=True, buttons=[[Button("📊", callback_data="bc:acks:1")]]))
    [edit] = h.api.of("editMessageText", 101)
    assert (edit.params["message_id"], edit.params["text"]) == (message_id, "Sent: 8 of 8")
    assert edit.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "bc:acks:1"
    await telegram.edit(101, message_id, OutgoingMessage(text="Done", html=True))
    assert "reply_markup" not in h.api.of("editMessageText", 101)[-1].params  # buttons gone


@pytest.mark.parametrize(("error", "expected", "reason"), [
    (TelegramForbiddenError(method=METHOD, message="Forbidden: bot was blocked by the user"),
     Blocked, "Forbidden: bot was blocked by the user"),
    (TelegramBadRequest(method=METHOD, message="Bad Request: chat not found"),
     Refused, "Bad Request: chat not found"),
    (TelegramNotFound(method=METHOD, message="Not Found"), Refused, "Not Found"),
    (TelegramServerError(method=METHOD, message="Bad Gateway"), Transient, "Bad Gateway"),
    (TelegramNetworkError(method=METHOD, message="Request timeout error"), Transient,
     "Request timeout error"),
    (TimeoutError("read timed out"), Transient, "TimeoutError: read timed out"),
])
async def test_telegram_errors_become_the_channel_errors(h, error, expected, reason):
    fail_with(h, error)
    telegram = h.app.channels["telegram"]
    for attempt in (telegram.send(101, OutgoingMessage(text="x")),
                    telegram.edit(101, 5, OutgoingMessage(text="x"))):
        with pytest.raises(expected) as caught:
            await attempt
        assert reason in caught.value.reason
        assert caught.value.__cause__ is error  # the log can still name Telegram's answer


async def test_telegram_flood_control_becomes_retry_after_for_everyone(h):
    fail_with(h, TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=7))
    with pytest.raises(RetryAfter) as caught:
        await h.app.channels["telegram"].send(101, OutgoingMessage(text="x"))
    assert (caught.value.seconds, caught.value.per_recipient) == (7, False)


async def test_other_failures_pass_unchanged(h):
    fail_with(h, ValueError("a bug of ours"))
    with pytest.raises(ValueError, match="a bug of ours"):
        await h.app.channels["telegram"].send(101, OutgoingMessage(text="x"))
