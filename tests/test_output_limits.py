"""Every message fits Telegram's limits (review M6, L2, L3, L10).

Telegram refuses a text over 4,096 characters and a caption over 1,024, both counted on the
parsed text, and HTML it cannot parse. The in-process Bot API of the tests refuses them as
Telegram does (bot.local_api); `assert_all_fit` checks every recorded call once more, by
itself, and that nobody was told "Sorry, something went wrong".
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramBadRequest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.callbacks import BroadcastCD, ChallengeCD, WebinarAdminCD
from bot.notices.broadcasts import broadcasts_tick
from bot.services import challenges as svc
from bot.services.text import HtmlError, fit, parse, split, take_lines
from db.models import ActivityLog, Broadcast, Challenge, ChallengeParticipant, District, User
from db.models.challenges import Submission
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student, place_ids
from tests.harness import BotHarness, make_harness
from tests.test_challenges import score_all

SORRY = "Sorry, something went wrong"
SCHOOL = "№12 Абай атындағы жалпы білім беретін мектеп-гимназиясы"  # 56 characters
HUGE_SCHOOL = ("Қазақстан Республикасы Білім және ғылым министрлігінің «Республикалық "
               "қосымша білім беру оқу-әдістемелік орталығы» жанындағы дарынды балаларға "
               "арналған мамандандырылған Абай атындағы мектеп-лицей-гимназия-интернаты")[:200]
CAPTION = ("Біздің сыныптың жобасы & <мектеп> туралы: " * 120)[:4096]  # a Premium caption


def long_name(n: int) -> str:
    return f"Әлихан-Нұрсұлтан Серікбайұлы Жаңабергенов-Құдайбергенов {n:03d}"  # 60+ chars


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    """SQLite, or PostgreSQL with TEST_DB=postgres; many quick updates: no flood limit."""
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 flood_limit=100_000)
    yield harness
    await harness.close()


# --- checking what was sent ---------------------------------------------------------------

def seen(call) -> tuple[str | None, int]:
    """(text or caption as people see it, its limit) of one recorded call."""
    html_mode = call.html
    for field, limit in (("text", 4096), ("caption", 1024)):
        value = call.params.get(field)
        if value is not None and call.method != "answerCallbackQuery":
            return (parse(value) if html_mode else value), limit
    return None, 0


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_all_fit(h: BotHarness, since: int = 0) -> None:
    assert h.api.refused == [], [problem for _call, problem in h.api.refused]
    for call in h.api.calls[since:]:
        try:
            text, limit = seen(call)
        except HtmlError as exc:
            raise AssertionError(f"{call.method}: Telegram cannot parse it: {exc}") from exc
        if text is not None:
            assert utf16(text) <= limit, (call.method, utf16(text), text[:80])
            assert SORRY not in text, (call.method, call.chat_id)
        for item in call.params.get("media") or []:
            assert utf16(item.get("caption") or "") <= 1024
        if call.method == "answerCallbackQuery":
            assert utf16(call.params.get("text") or "") <= 200


def answered(h: BotHarness, tg_id: int, since: int) -> list:
    return [c for c in h.api.calls[since:] if c.chat_id == tg_id
            and c.method not in ("answerCallbackQuery", "getMe")]


# --- the text rules themselves ------------------------------------------------------------

PIECES = st.lists(st.one_of(
    st.text(alphabet="abcәң <>&\"'😀 \n", min_size=1, max_size=40).map(html.escape),
    st.sampled_from(["\n", "\n\n", " ", "&amp;", "&#x1F600;", "&nbsp;", "a & b"]),
    st.tuples(st.sampled_from(["b", "i", "code", 'a href="https://e.kz/?a=1&amp;b=2"']),
              st.text(alphabet="xyzқ &<\n", max_size=30).map(html.escape))
    .map(lambda t: f"<{t[0]}>{t[1]}</{t[0].split()[0]}>"),
), max_size=60)


@settings(max_examples=150, deadline=None)
@given(PIECES, st.integers(min_value=5, max_value=120))
def test_split_and_fit_cut_between_tags_and_entities_only(pieces, limit):
    text = "".join(pieces)
    parts = split(text, limit)
    for part in parts:
        assert utf16(parse(part)) <= limit  # parses: no tag or entity was cut in half
    if utf16(parse(text)) <= limit:
        assert parts == [text]
    else:  # nothing is lost but the line breaks or spaces cut at
        joined = "".join(parse(p) for p in parts).replace("\n", "").replace(" ", "")
        assert joined == parse(text).replace("\n", "").replace(" ", "")
    short = fit(text, limit)
    assert utf16(parse(short)) <= limit
    assert short == text or short.endswith("…")


def test_take_lines_says_how_many_are_left_out():
    lines = [f"• {long_name(n)}" for n in range(40)]
    taken = take_lines(lines, 700, lambda n: f"…and {n} more")
    assert utf16("\n".join(taken)) <= 700 and taken[:-1] == lines[:len(taken) - 1]
    assert taken[-1] == f"…and {40 - len(taken) + 1} more"
    assert take_lines(lines[:3], 700, str) == lines[:3]


async def test_the_strict_api_refuses_what_telegram_refuses(h):
    bot = h.app.bot
    await bot.send_message(1, "<b>fine</b> &amp; " + "x" * 4000)  # 4,007 seen characters
    refused = ["<New> & District", "<b>open", "", "x" * 1000 + "&amp;" * 3100]
    for text in refused:
        with pytest.raises(TelegramBadRequest):
            await h.api.make_request(bot, _send(text))
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        from aiogram.methods import SendPhoto
        await h.api.make_request(bot, SendPhoto(chat_id=1, photo="P", caption="y" * 1025,
                                                parse_mode=None))
    assert len(h.api.refused) == 5


def _send(text: str):
    from aiogram.methods import SendMessage
    return SendMessage(chat_id=1, text=text)


async def test_the_bot_splits_what_is_too_long_and_moves_long_captions(h):
    """The net under every handler: no message is lost to a limit."""
    bot = h.app.bot
    lines = "\n".join(f"<b>{n}</b> {html.escape(long_name(n))} &amp; {SCHOOL}" for n in range(80))
    from aiogram.utils.keyboard import InlineKeyboardBuilder
    kb = InlineKeyboardBuilder()
    kb.button(text="OK", callback_data="x")
    await bot.send_message(5, lines, reply_markup=kb.as_markup())
    sent = h.api.of("sendMessage", 5)
    assert len(sent) == 3 and all(utf16(parse(c.text)) <= 4096 for c in sent)
    assert [bool(c.params.get("reply_markup")) for c in sent] == [False, False, True]
    assert "".join(parse(c.text) for c in sent).count("&") == 80
    await bot.send_photo(6, "PHOTO", caption=CAPTION, parse_mode=None,
                         reply_markup=kb.as_markup())
    photo, text = answered(h, 6, 0)
    assert photo.method == "sendPhoto" and "caption" not in photo.params
    assert text.method == "sendMessage" and text.text == CAPTION and text.params["reply_markup"]
    await bot.edit_message_text("é" * 5000, chat_id=7, message_id=1)
    edited = h.api.last(7).text
    assert edited.endswith("é…") and set(edited[:-1]) == {"é"} and len(edited) <= 4096
    assert_all_fit(h)


# --- M6: a long caption, or a file Telegram refuses, blocks nobody --------------------------

async def entry_with_caption(h: BotHarness, cid: int, tg_id: int) -> None:
    u = await start_entry(h, cid, tg_id)
    await u.send_content(photo=[{"file_id": f"Photo{tg_id}", "file_unique_id": f"u{tg_id}",
                                 "width": 9, "height": 9}], caption=CAPTION)
    await u.click("Send without a comment")


async def test_m6_a_long_caption_or_a_refused_file_never_blocks_review_or_the_jury(h):
    await make_staff(h)
    cid = await contest(h)
    await make_student(h, 101, org_name=SCHOOL)
    await make_student(h, 102, org_name=SCHOOL)
    await entry_with_caption(h, cid, 101)  # No. 1, first in every queue
    await text_entry(h, cid, 102, "an honest entry")  # No. 2
    await make_coordinator(h, 201)
    for reviewer in (201, 900):
        start = len(h.api.calls)
        await h.user(reviewer).send("/review")
        sent = answered(h, reviewer, start)
        assert [c.method for c in sent] == ["sendMessage", "sendPhoto", "sendMessage",
                                            "sendMessage"]
        assert sent[2].text == CAPTION  # the caption follows the photo as a text
        assert "Entry No. 1" in sent[3].text and h.user(reviewer).buttons()[0] == "✅ Approve"
    # Telegram refuses the file itself (gone, or a forged id): the card still comes
    def refuse_photos(call):
        if call.method == "sendPhoto":
            raise TelegramBadRequest(method=None, message="Bad Request: wrong file identifier")
    h.api.fault = refuse_photos
    start = len(h.api.calls)
    await h.user(201).send("/review")
    card = answered(h, 201, start)[-1]
    assert "Entry No. 1" in card.text and "did not show this entry's files" in card.text
    assert "✅ Approve" in h.user(201).buttons()
    await h.user(201).click("✅ Approve")
    assert "Entry No. 1 is approved." in h.user(201).texts()[-3:]
    assert "Entry No. 2" in h.user(201).last_text()  # the queue behind it moves on
    await h.user(201).press("rv:ok:2:")
    # the jury gets the same entry: the card and the score buttons come all the same
    await set_up_jury(h, cid, juror=301)
    juror = h.user(301)
    start = len(h.api.calls)
    await juror.click("Start judging")
    card = answered(h, 301, start)[-1]
    assert "Entry No. 1" in card.text and "did not show this entry's files" in card.text
    assert juror.buttons()[:3] == ["0", "1", "2"]
    h.api.fault = None
    await score_all(juror, [7])
    start = len(h.api.calls)
    await h.user(900).press(f"cha:jrank:{cid}:")
    assert "No. 1 — 7.00" in h.user(900).last_text()
    assert_all_fit(h)


async def test_m6_a_premium_caption_in_an_announcement_reaches_everyone(h):
    """A coordinator's photo or album with a 2,100-character caption: the recipients get the
    media, then the caption as a text with its formatting and the confirmation button."""
    await make_coordinator(h, 201)
    await make_student(h, 101)
    await make_student(h, 102)
    bold = {"type": "bold", "offset": 2000, "length": 10}
    u = h.user(201)
    await u.send("/broadcast")
    await u.send_content(photo=[{"file_id": "BP", "file_unique_id": "bp", "width": 9,
                                 "height": 9}], caption=CAPTION[:2100], caption_entities=[bold])
    await u.click("Students")
    await u.click("✅ Received")
    preview = [c.method for c in answered(h, 201, 0)][-4:]
    assert preview == ["sendMessage", "sendPhoto", "sendMessage", "sendMessage"]
    await u.click("Send now")
    await h.drain()
    for tg in (101, 102):
        photo, text = answered(h, tg, 0)
        assert photo.method == "sendPhoto" and "caption" not in photo.params
        assert text.text == CAPTION[:2100] and text.params["entities"] == [bold]
        assert h.user(tg).buttons() == ["✅ Received"]
    start = len(h.api.calls)
    await u.send("/broadcast")
    for n in (1, 2):
        await u.send_content(media_group_id="g1", caption=CAPTION[:1500] if n == 1 else "2",
                             photo=[{"file_id": f"A{n}", "file_unique_id": f"a{n}",
                                     "width": 9, "height": 9}])
    await u.click("Students")
    await u.click("No confirmation")
    await u.click("Send now")
    await h.drain()
    album, text = answered(h, 101, start)
    assert [m.get("caption") for m in album.params["media"]] == [None, "2"]
    assert text.text == CAPTION[:1500]
    assert_all_fit(h)


# --- L2: imported place names are refused when they hold markup, escaped anyway ------------

async def test_l2_place_names_are_checked_at_import_and_escaped_in_every_message(h):
    await make_staff(h)
    staff = h.user(900)
    await staff.send("/import_districts")
    csv = ("region_code,unit_type,unit_kk,unit_ru,unit_en\n"
           "abai,district,<New> & District,<New> & District,<New> & District\n")
    await staff.send_content(document={"file_id": "CSV1", "file_unique_id": "c1",
                                       "file_name": "d.csv"})
    h.api.files["CSV1"] = csv.encode()
    await staff.send_content(document={"file_id": "CSV1", "file_unique_id": "c1",
                                       "file_name": "d.csv"})
    assert "Line 2: a name must be at most 120 characters" in staff.last_text()
    await staff.send("/cancel")
    # a name already stored (an older import, another tool) is escaped wherever it is shown,
    # in the charts too ("$…$" is a formula to matplotlib)
    name = "<New> & District $\\frac$"
    _region, district_id = await place_ids(h)
    async with h.app.sessionmaker() as s:
        await s.execute(update(District).where(District.id == district_id).values(
            name_kk=name, name_ru=name, name_en=name))
        await s.commit()
        await h.app.places.load(s)
    cid = await contest(h)
    await make_student(h, 101, org_name=SCHOOL)
    await make_student(h, 102, org_name="Lyceum No. 2")
    await text_entry(h, cid, 101, "entry")
    await join(h, cid, 102)
    await make_coordinator(h, 201)
    await make_coordinator(h, 202, level="regional")
    await make_coordinator(h, 203, status="pending")
    start = len(h.api.calls)
    await staff.send("/review")
    assert "Place: Abai Region, &lt;New&gt; &amp; District" in staff.last_text()
    await h.user(201).press(ChallengeCD(action="gap", id=cid).pack())
    assert f"({html.escape(name)})" in h.user(201).last_text()
    await staff.send("/pending")
    assert "District: &lt;New&gt; &amp; District" in "\n".join(staff.texts()[-2:])
    async with h.app.sessionmaker() as s:  # the entry is this week's by the test's clock
        await s.execute(update(ActivityLog).values(at=h.app.now()))
        await s.commit()
    await h.user(202).send("/stats")
    assert html.escape(name) in h.user(202).texts()[-2]
    assert h.api.of("sendPhoto", 202)  # the chart names the district too
    await staff.send("/leaderboard")
    await h.user(202).send("/leaderboard")
    assert "&lt;New&gt; &amp; District" in h.user(202).texts()[-1]
    bc = await broadcast(h, 201, ack=True)
    await h.user(201).press(BroadcastCD(action="acks", value=str(bc)).pack())
    await broadcast(h, 202, ack=True)
    await h.user(202).press(BroadcastCD(action="acks", value=str(bc + 1)).pack())
    assert f"• {html.escape(name)}: 0/2" in h.user(202).last_text()
    assert answered(h, 900, start) and answered(h, 202, start)
    assert_all_fit(h)


# --- L3: lists of people fit, say how many more there are, keep their buttons ---------------

async def test_l3_who_has_not_sent_and_confirmations_fit_with_40_people(h):
    await make_staff(h)
    cid = await contest(h)
    for n in range(40):  # the review's case: ordinary names, a 56-character school name
        await make_student(h, 1000 + n, org_name=f"{SCHOOL} {n}")
        await join(h, cid, 1000 + n)
    await make_student(h, 1100, org_name=HUGE_SCHOOL)  # one 200-character school sorts first
    await join(h, cid, 1100)
    await make_coordinator(h, 201)
    coordinator = h.user(201)
    await coordinator.press(ChallengeCD(action="gap", id=cid).pack())
    text = coordinator.last_text()
    assert text.startswith("Joined but have not sent an entry: 41")
    assert re.search(r"…and \d+ more", text) and "Schools of your area with no entries: 41" in text
    assert [b for b in coordinator.buttons() if "Remind" in b]
    bc = await broadcast(h, 201, ack=True)
    await coordinator.press(BroadcastCD(action="acks", value=str(bc)).pack())
    text = coordinator.last_text()
    assert "Confirmations of announcement" in text and "Not yet confirmed:" in text
    assert "…and" in text and any("Remind the 41" in b for b in coordinator.buttons())
    assert_all_fit(h)


# --- L10: the announcement with a cover ---------------------------------------------------

async def test_l10_the_cover_announcement_keeps_the_deadline_and_whole_entities(h):
    await make_student(h, 101)
    description = "Жоба & <идея> " * 300  # 4,200 characters, "&" and "<" to escape
    cid = await contest(h, cover=True, description=description[:3000])
    assert cid
    await h.drain()
    call = h.api.of("sendPhoto", 101)[-1]
    caption = parse(call.params["caption"])  # parses: no entity was cut in half
    assert utf16(caption) <= 1024
    assert caption.rstrip().endswith("Deadline: 12.03.2026 11:00")
    assert "Жоба & <идея>" in caption and "…" in caption
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Open"
    # the card behind "Open" shows all of it: the cover, then the text that did not fit
    start = len(h.api.calls)
    await h.user(101).click("Open")
    photo, text = answered(h, 101, start)
    assert photo.method == "sendPhoto" and parse(text.text).count("<идея>") == 214
    assert "Join" in h.user(101).buttons()[0]
    assert_all_fit(h)


# --- the sweep: every view with many long names ------------------------------------------

async def test_m6_l3_every_view_fits_with_45_long_names_and_a_4096_caption(h):
    await make_staff(h)
    staff = h.user(900)
    cid = await contest(h, cover=True, description=("Сипаттама & " * 300)[:3000],
                        options=30)
    people = []
    for n in range(45):
        school = HUGE_SCHOOL if n % 9 == 0 else f"{SCHOOL} {n}"
        people.append(await named(h, await make_student(h, 1000 + n, org_name=school),
                                  long_name(n)))
        await join(h, cid, 1000 + n)
    await entry_with_caption(h, cid, 1000)
    await text_entry(h, cid, 1001, "Эссе " * 800)  # 4,000 characters
    for n in range(40):  # pending coordinators with long names
        await named(h, await make_coordinator(h, 2000 + n, status="pending"), long_name(n))
    await named(h, await make_coordinator(h, 201), long_name(201))
    await named(h, await make_coordinator(h, 202, level="regional"), long_name(202))
    # many challenges joined: /my and the staff's /challenges list
    for n in range(34):
        other = await contest(h, title=f"{n} " + "Ұзын атау " * 19)
        await join(h, other, 1000)
    wid = await webinar_with(h, [p.id for p in people])
    await h.drain()
    since = len(h.api.calls)

    # review: the entry with the 4,096-character caption comes first
    for reviewer in (201, 202, 900):
        await h.user(reviewer).send("/review")
        assert "Entry No. 1" in h.user(reviewer).last_text()
        assert "✅ Approve" in h.user(reviewer).buttons()
    await h.user(201).click("✅ Approve")
    await h.user(201).press("rv:ok:2:")
    # the jury: the same entries, then the staff's views of the round
    await set_up_jury(h, cid, juror=301)
    await h.user(301).click("Start judging")
    assert "Entry No. 1" in h.user(301).last_text()
    await score_all(h.user(301), [5])
    assert "Entry No. 2" in h.user(301).last_text()
    await score_all(h.user(301), [6])
    await staff.send(f"/jury {cid}")
    await staff.press(f"cha:jrank:{cid}:")
    # coordinators: who has not sent, confirmations of an announcement
    await h.user(201).press(ChallengeCD(action="gap", id=cid).pack())
    assert "…and" in h.user(201).last_text()
    bc = await broadcast(h, 201, ack=True)
    await h.user(201).press(BroadcastCD(action="acks", value=str(bc)).pack())
    staff_bc = await broadcast(h, 900, ack=True)
    await staff.press(BroadcastCD(action="acks", value=str(staff_bc)).pack())
    await broadcasts_tick(h.app)
    await h.user(201).send("/broadcasts")
    # staff: requests, lists, statistics, the webinar's registrants
    await staff.send("/pending")
    assert sum(long_name(n)[:40] in t for t in staff.texts() for n in range(40)) >= 20
    await staff.send("/challenges")
    await staff.press(WebinarAdminCD(action="regs", id=wid).pack())
    assert long_name(44) in staff.last_text()  # 45 names of 60 characters fit whole
    for who in (900, 201, 202, 1000):
        await h.user(who).send("/leaderboard")
        await h.user(who).send("/leaderboard year")
    for who in (900, 201, 202):
        await h.user(who).send("/stats")
    # a student: the challenge card with its cover, /my, /challenges, /profile
    student = h.user(1002)
    start = len(h.api.calls)
    await student.press(ChallengeCD(action="card", id=cid).pack())
    assert next(c.method for c in answered(h, 1002, start)) == "sendPhoto"  # the cover first
    assert "📤 Send my entry" in student.buttons()
    await h.user(1000).send("/my")
    my = [c for c in answered(h, 1000, since) if c.method == "sendMessage"][-2:]
    assert "Your challenges" in my[0].text  # a long /my goes out in parts, buttons last
    await h.user(1000).send("/challenges")
    await h.user(1000).send("/profile")
    assert_all_fit(h, since)
    for tg in (201, 202, 900, 301, 1000, 1002):
        assert answered(h, tg, since), tg


# --- the views added for minors, staff rights and /verify (issue 14's other branches) -------

WAITING = "waiting for a guardian's confirmation"


def hostile_name(n: int) -> str:
    """As long as a name may be (120), with what HTML would read as markup."""
    return (f"<Әлихан> & «Co» {n:03d} " + "Нұрсұлтан-Серікбайұлы " * 6)[:120]


HOSTILE_SCHOOL = ("<b>Мектеп & лицей</b> " + HUGE_SCHOOL)[:200]


async def test_m6_l3_m4_views_of_minors_staff_rights_and_verify_fit_with_hostile_names(h):
    """The guardian-waiting lists and exports' on-screen lists, /promote and /demote, the
    guardian's page, coordinator request cards and /verify: every one fits, parses and
    names no minor still waiting for a guardian."""
    from bot.callbacks import ChallengeAdminCD
    from bot.notices.approvals import notify_staff_of_request
    from bot.services import certificates as certs
    from db.models import Certificate

    await make_staff(h)
    staff = h.user(900)
    second = await named(h, await make_staff(h, 901), hostile_name(901))
    place = "<New> & District $\\frac$"
    _region, district_id = await place_ids(h)
    async with h.app.sessionmaker() as s:
        await s.execute(update(District).where(District.id == district_id).values(
            name_kk=place, name_ru=place, name_en=place))
        await s.execute(update(User).where(User.id == second.id).values(
            org_name=HOSTILE_SCHOOL, district_id=district_id))
        await s.commit()
        await h.app.places.load(s)
    cid = await contest(h)
    people = []
    for n in range(45):  # every other one a minor still waiting for a guardian
        user = await named(h, await make_student(h, 1000 + n, org_name=HOSTILE_SCHOOL),
                           hostile_name(n))
        if n % 2 == 0:
            async with h.app.sessionmaker() as s:
                await s.execute(update(User).where(User.id == user.id).values(
                    limited=True, age_band="u14", guardian_token=f"tok{n}"))
                await s.commit()
            h.app.users.forget(user.tg_id)
        people.append(user)
    async with h.app.sessionmaker() as s:  # entries and a certificate from before the limit
        for user in people:
            s.add(Submission(challenge_id=cid, user_id=user.id, status="approved",
                             content_kind="text", text="…", chat_id=user.chat_id))
        for user in people[:2]:
            s.add(Certificate(issue_key=f"old:{user.id}", template="participant",
                              source_type="challenge", source_id=cid, user_id=user.id,
                              full_name=hostile_name(user.tg_id), org_name=HOSTILE_SCHOOL,
                              region_id=user.region_id, locale="en", details={},
                              issued_at=h.app.now(), queued_at=h.app.now(),
                              number=certs.make_number("participant", 2026)))
        await s.commit()
        numbers = (await s.scalars(select(Certificate.number).order_by(Certificate.id))).all()
    wid = await webinar_with(h, [p.id for p in people])
    coordinator = await named(h, await make_coordinator(h, 201), hostile_name(201))
    pending = [await named(h, await make_coordinator(h, 2000 + n, status="pending"),
                           hostile_name(2000 + n)) for n in range(2)]
    await h.drain()
    since = len(h.api.calls)

    # staff: the winners' list of a closed contest, the webinar's registrants
    async with h.app.sessionmaker() as s:
        await s.execute(update(Challenge).where(Challenge.id == cid).values(status="closed"))
        await s.commit()
    start = len(h.api.calls)
    await staff.press(ChallengeAdminCD(action="win", id=cid).pack())
    [winners] = answered(h, 900, start)  # one message: as many entries as fit, then the count
    assert "Approved entries:" in winners.text and re.search(r"…and \d+ more", winners.text)
    await staff.send("/cancel")
    await staff.press(WebinarAdminCD(action="regs", id=wid).pack())
    # coordinators: who confirmed an announcement (by school or by district, then who not)
    bc = await broadcast(h, coordinator.tg_id, ack=True)
    await h.user(201).press(BroadcastCD(action="acks", value=str(bc)).pack())
    await make_coordinator(h, 202, level="regional")
    await h.user(202).press(BroadcastCD(action="acks",
                                        value=str(await broadcast(h, 202, ack=True))).pack())
    assert f"• {html.escape(place)}: 0/45" in h.user(202).last_text()
    lists = [html.unescape(winners.text), html.unescape(staff.last_text()),
             html.unescape(h.user(201).last_text()), html.unescape(h.user(202).last_text())]
    for text in lists:  # by district, the waiting ones are only counted ("…and 30 more")
        assert hostile_name(1)[:40] in text and (WAITING in text or text is lists[-1])
        assert hostile_name(0)[:40] not in text and hostile_name(2)[:40] not in text
    # staff rights: /promote and /demote show whom, escaped
    await staff.send(f"/promote {people[1].tg_id}")
    assert html.escape(hostile_name(1)) in staff.last_text()
    await staff.click("Yes, make staff")
    await staff.send("/demote 901")
    assert html.escape(place) in staff.last_text()
    await staff.click("Yes, take staff rights away")
    assert staff.last_text() == f"{html.escape(hostile_name(901))} is no longer centre staff."
    # coordinator requests' cards: to the region's coordinator, who decides them (issue 17)
    async with h.app.sessionmaker() as s:
        for user in pending:
            await notify_staff_of_request(s, h.app.translator, h.app.places,
                                          await s.get(User, user.id), h.app.now())
        await s.commit()
    await h.drain()
    assert "New coordinator request:" in h.user(202).last_text()
    # the guardian's page; /verify of an adult's and of a waiting minor's certificate
    guest = h.user(777, language_code="en")
    await guest.send("/start g_tok0")
    assert html.escape(hostile_name(0)) in guest.last_text()
    for number in numbers:
        await guest.send(f"/verify {number}")
    assert WAITING in guest.texts()[-2] and "&lt;Әлихан&gt;" not in guest.texts()[-2]
    assert "Issued to: &lt;Әлихан&gt; &amp;. «. 1. Н." in guest.texts()[-1]  # "Aida N."
    assert_all_fit(h, since)
    for tg in (900, 201, 202, 777):
        assert answered(h, tg, since), tg


# --- set-up helpers -----------------------------------------------------------------------

async def named(h: BotHarness, user: User, name: str) -> User:
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(full_name=name))
        await s.commit()
    h.app.users.forget(user.tg_id)
    return user


async def contest(h: BotHarness, *, cover: bool = False, description: str = "Description",
                  options: int = 0, title: str = "My class") -> int:
    now = h.app.now()
    names = [{"kk": f"Номинация {n} " + "ұзын " * 35, "ru": f"Номинация {n}",
              "en": f"Nomination {n} " + "long " * 35} for n in range(options)]
    async with h.app.sessionmaker() as s:
        actor = await s.scalar(select(User).where(User.tg_id == 900))
        c = await svc.create_challenge(s, {
            "kind": "contest", "title_kk": title, "title_ru": title, "title_en": title,
            "description_kk": description, "description_ru": description,
            "description_en": description, "audience": {},
            "content_kinds": ["photo", "text"], "max_submissions": 1,
            "starts_at": now.isoformat(),
            "deadline_at": (now + timedelta(days=10)).isoformat(),
            "nominations": names[:options], "categories": [],
            "cover_file_id": "COVER" if cover else None, "review_tiers": []}, None, now)
        await svc.publish(s, h.app.challenge_notices, c.id, actor, now)
        await s.commit()
        return c.id


async def join(h: BotHarness, cid: int, tg_id: int) -> None:
    async with h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == tg_id))
        s.add(ChallengeParticipant(challenge_id=cid, user_id=user.id, joined_at=h.app.now()))
        await s.commit()


async def start_entry(h: BotHarness, cid: int, tg_id: int):
    u = h.user(tg_id)
    await u.press(f"ch:submit:{cid}:")
    if "Choose the nomination" in u.last_text():
        await u.press(h.api.last(tg_id).params["reply_markup"]["inline_keyboard"][0][0]
                      ["callback_data"])
    return u


async def text_entry(h: BotHarness, cid: int, tg_id: int, text: str) -> None:
    u = await start_entry(h, cid, tg_id)
    await u.send(text)
    await u.click("Send without a comment")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(Submission.id).where(Submission.text == text))


async def set_up_jury(h: BotHarness, cid: int, juror: int) -> None:
    await make_student(h, juror, region_code="astana", org_name="Jury school")
    staff = h.user(900)
    await staff.send(f"/jury {cid}")
    await staff.click("Criteria")
    await staff.send("Идея | Идея | Idea")
    await staff.click("Quorum")
    await staff.send("1")
    await staff.click("Add a juror")
    await staff.send(str(juror))
    await h.drain()


async def broadcast(h: BotHarness, tg_id: int, ack: bool) -> int:
    u = h.user(tg_id)
    await u.send("/broadcast")
    await u.send("Please confirm & read <this>")
    await u.click("Students")
    await u.click("✅ Received" if ack else "No confirmation")
    await u.click("Send now")
    await h.drain()
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()).limit(1))


async def webinar_with(h: BotHarness, user_ids: list[int]) -> int:
    from db.models import Webinar, WebinarRegistration

    async with h.app.sessionmaker() as s:
        w = Webinar(title_kk="Көшбасшылық", title_ru="Лидерство", title_en="Leadership",
                    description_kk="…", description_ru="…",
                    starts_at=h.app.now() + timedelta(days=3), duration_min=60,
                    join_url="https://example.org/w")
        s.add(w)
        await s.flush()
        for uid in user_ids:
            s.add(WebinarRegistration(webinar_id=w.id, user_id=uid, status="registered"))
        await s.commit()
        return w.id
