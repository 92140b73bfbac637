"""The WhatsApp transport's parts: what each Bot API call becomes on the Cloud API (as the
fake recorded it), the keyboard and formatting rules, the errors, and the same fake over
HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
)

from bot.channels import Blocked, Refused, RetryAfter
from bot.channels.whatsapp.client import Choice, WaApiError, WaClient
from bot.channels.whatsapp.render import Option, cut, from_html, plan
from bot.db_context import current_session
from bot.services.delivery import Button, OutgoingMessage
from tests import fake_whatsapp as fw
from tests.harness import make_harness
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

BSUID = "KZ.22222222222222222222"


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    h = await make_harness(db_url, clock, **WA_SETTINGS)
    wa = await attach_whatsapp(h)
    yield wa
    await wa.close()
    await h.close()


async def contact(wh: WaHarness, address: str = BSUID) -> int:
    """A person who wrote once: their id as the bot knows them."""
    return (await wh.wa.contacts.arrive(address, None)).ext_id


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=label, callback_data=f"k:{n}")]
        for n, label in enumerate(labels)])


# --- the rules, without I/O -------------------------------------------------------------------
def test_titles_are_cut_at_a_word_within_the_limit():
    assert cut("Coordinator", 20) == "Coordinator"
    assert cut("Член парламента (школьник, студент)", 20) == "Член парламента…"
    assert cut("Parliament member (student)", 20) == "Parliament member…"
    assert cut("Abcdefghijklmnopqrstuvwxyz", 20) == "Abcdefghijklmnopqrs…"
    for title in ("a " * 40, "Жасыл ел — экология және табиғат", "x" * 30):
        assert len(cut(title, 20)) <= 20 and len(cut(title, 24)) <= 24


def test_html_becomes_whatsapp_markup():
    assert from_html("<b>Registered</b> for <i>Webinar</i>") == "*Registered* for _Webinar_"
    assert from_html("<b>Total: </b>5") == "*Total:* 5"  # a mark next to a space is no mark
    assert from_html("<s>old</s> <code>J-7</code>") == "~old~ ```J-7```"
    assert from_html('<a href="https://e.kz/?a=1&amp;b=2">Join</a>') == "Join (https://e.kz/?a=1&b=2)"
    assert from_html("5 &lt; 7 &amp; <u>under</u> <tg-spoiler>x</tg-spoiler>") == "5 < 7 & under x"


def test_menus_by_size():
    hint, button = "Reply with a number.", "Choose"
    three = plan("Q?", [Option(t, data=t) for t in ("Yes", "No", "Later")], hint, button)
    assert (three.kind, [c.title for c in three.choices]) == ("buttons", ["Yes", "No", "Later"])
    ten = plan("Q?", [Option(f"Option {n}", data=str(n)) for n in range(10)], hint, button)
    assert ten.kind == "list" and len(ten.choices) == 10
    eleven = plan("Q?", [Option(f"Score {n}", data=str(n)) for n in range(11)], hint, button)
    assert eleven.kind == "numbered" and eleven.menu == [str(n) for n in range(11)]
    assert "11. Score 10" in eleven.body and eleven.body.endswith(hint)
    long_rows = plan("Q?", [Option("Жасыл ел — экология және табиғат қорғау", data="a"),
                            Option("Жасыл ел — экология және мәдениет", data="b")], hint, button)
    assert long_rows.kind == "list"  # as buttons both would read "Жасыл ел — экология…"
    assert [c.description for c in long_rows.choices] == [  # the cut title goes on below
        "Жасыл ел — экология және табиғат қорғау", "Жасыл ел — экология және мәдениет"]
    assert all(len(c.title) <= 24 for c in long_rows.choices)


def test_url_buttons_become_links():
    alone = plan("Webinar at 15:00", [Option("🔗 Join", url="https://meet.kz/x")], "h", "c")
    assert (alone.kind, alone.link.url) == ("link", "https://meet.kz/x")
    mixed = plan("Webinar", [Option("🔗 Join", url="https://meet.kz/x"),
                             Option("✋ I'm here", data="wb:here:1")], "h", "c")
    assert mixed.kind == "buttons" and "🔗 Join: https://meet.kz/x" in mixed.body
    assert [c.data for c in mixed.choices] == ["wb:here:1"]


def test_a_long_body_goes_first_then_the_buttons():
    shown = plan("x" * 1500, [Option("OK", data="ok")], "h", "c")
    assert shown.lead == "x" * 1500 and len(shown.body) <= 1024


# --- Bot API calls on WhatsApp -----------------------------------------------------------------
async def test_texts_keyboards_and_edits(wh):
    ext_id = await contact(wh)
    bot = wh.wa.bot
    await bot.send_message(ext_id, "<b>Choose</b>", reply_markup=keyboard("A", "B"))
    async with wh.h.app.sessionmaker() as session:  # as while handling the person's update
        token = current_session.set(session)
        try:
            await bot.edit_message_text("Now <i>this</i>", chat_id=ext_id, message_id=1,
                                        reply_markup=keyboard(*"ABCD"))
            assert await bot.edit_message_reply_markup(chat_id=ext_id, message_id=1) is True
        finally:
            current_session.reset(token)
    # a timer's edit (a broadcast's live progress) is not worth a message each time
    assert await bot.edit_message_text("Sent: 5 of 8", chat_id=ext_id, message_id=2) is True
    buttons, edited = wh.api.to(BSUID)
    assert (buttons.type, buttons.body, buttons.ids) == ("buttons", "*Choose*", ["k:0", "k:1"])
    assert (edited.type, edited.body, edited.titles) == ("list", "Now _this_", list("ABCD"))


async def test_a_popup_becomes_a_message_and_a_silent_answer_sends_nothing(wh):
    ext_id = await contact(wh)
    bot = wh.wa.bot
    assert await bot.answer_callback_query(f"wa:{ext_id}:wamid.1", "Saved", show_alert=True)
    assert await bot.answer_callback_query(f"wa:{ext_id}:wamid.2")
    assert [(s.type, s.body) for s in wh.api.to(BSUID)] == [("text", "Saved")]


async def test_media_files_are_uploaded_and_albums_sent_one_by_one(wh):
    ext_id = await contact(wh)
    bot = wh.wa.bot
    pdf = BufferedInputFile(b"%PDF certificate", filename="certificate.pdf")
    sent = await bot.send_document(ext_id, pdf, caption="<b>Your certificate</b>")
    photo_id = wh.api.add_media(b"photo", "image/jpeg")
    await bot.send_photo(ext_id, photo_id, caption="Vote?", reply_markup=keyboard("Yes", "No"))
    await bot.send_media_group(ext_id, [InputMediaPhoto(media=photo_id, caption="1"),
                                        InputMediaPhoto(media=photo_id, caption="2")])
    document, photo, buttons, first, second = wh.api.to(BSUID)
    assert (document.type, document.caption) == ("document", "*Your certificate*")
    assert document.raw["document"]["filename"] == "certificate.pdf"
    assert wh.api.media[document.media_id] == (b"%PDF certificate", "application/pdf")
    assert sent.document is not None
    assert (photo.type, photo.media_id, photo.caption) == ("image", photo_id, None)
    assert (buttons.type, buttons.body, buttons.titles) == ("buttons", "Vote?", ["Yes", "No"])
    assert [(first.type, first.caption), (second.type, second.caption)] == [
        ("image", "1"), ("image", "2")]


async def test_cloud_api_errors_become_the_errors_the_bot_handles(wh):
    ext_id = await contact(wh)
    bot = wh.wa.bot
    wh.api.fail_next(131026)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ext_id, "hi")
    wh.api.fail_next(131056)
    with pytest.raises(TelegramRetryAfter) as pair:
        await bot.send_message(ext_id, "hi")
    assert pair.value.retry_after == 6
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-999, "nobody")  # no such contact (or erased)
    with pytest.raises(TelegramBadRequest, match="not possible on WhatsApp"):
        await bot.send_poll(ext_id, "Q", ["a", "b"])
    assert wh.api.sent == []


async def test_the_queue_sends_through_whatsapp_and_maps_its_errors(wh):
    ext_id = await contact(wh)
    channel = wh.h.app.delivery.channels["whatsapp"]
    assert (channel.name, channel.can_edit) == ("whatsapp", False)
    message = OutgoingMessage(text="<b>News</b>", html=True,
                              buttons=[[Button("✅ Read", callback_data="bc:ack:1")]])
    assert await channel.send(ext_id, message)
    [news] = wh.api.to(BSUID)
    assert (news.type, news.body, news.ids) == ("buttons", "*News*", ["bc:ack:1"])
    for code, expected in ((131026, Blocked), (131009, Refused), (131056, RetryAfter)):
        wh.api.fail_next(code, status=400)
        with pytest.raises(expected) as error:
            await channel.send(ext_id, message)
        if code == 131056:
            assert error.value.per_recipient and error.value.seconds == 6
    wh.api.fail_next(131047)  # outside the 24-hour window: the template goes instead
    await channel.send(ext_id, message)
    assert (wh.api.sent[-1].type, wh.api.sent[-1].template) == ("template", "mektep_announcement")


async def test_each_bot_sends_to_its_own_people(wh):
    """A notice the Telegram bot makes for a WhatsApp person goes out on WhatsApp, and the
    reverse: staff on Telegram are told about a WhatsApp person's request on Telegram."""
    ext_id = await contact(wh)
    assert wh.wa.bot.id == wh.h.app.bot.id  # FSM keys (bot:chat:user) are the same for both
    await wh.h.app.bot.send_message(ext_id, "to WhatsApp")
    await wh.wa.bot.send_message(900, "to Telegram")
    assert [s.body for s in wh.api.to(BSUID)] == ["to WhatsApp"]
    assert [c.params["text"] for c in wh.h.api.of("sendMessage")] == ["to Telegram"]


# --- the fake on 127.0.0.1 ----------------------------------------------------------------------
async def test_the_fake_serves_over_http_with_metas_error_shapes():
    api = fw.FakeCloudApi()
    runner = await fw.serve(api)
    client = WaClient(fw.TOKEN, fw.PHONE_ID, app_secret=fw.APP_SECRET, base_url=api.base_url)
    try:
        wamid = await client.send_buttons(BSUID, "Q?", [Choice("A", "a"), Choice("B", "b")])
        media_id = await client.send_media(BSUID, "photo", b"JPEG bytes", caption="c")
        assert await client.media_bytes(api.sent[-1].media_id) == b"JPEG bytes"
        with pytest.raises(WaApiError) as four:
            await client.send_buttons(BSUID, "Q?", [Choice(str(n), str(n)) for n in range(4)])
        api.window_closed.add(BSUID)
        with pytest.raises(WaApiError) as closed:
            await client.send_text(BSUID, "late")
        api.fail_next(500, status=500)
        with pytest.raises(WaApiError) as down:
            await client.send_text("KZ.other", "x")
    finally:
        await client.close()
        await runner.cleanup()
    assert wamid.startswith("wamid.") and media_id.startswith("wamid.")
    assert (four.value.code, four.value.transient) == (131009, False)
    assert (closed.value.code, closed.value.status) == (131047, 400)
    assert down.value.transient
    assert [s.type for s in api.sent] == ["buttons", "image"]
