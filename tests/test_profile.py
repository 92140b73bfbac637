"""/profile with its edits and wrong answers, /deleteme, /mydata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.callbacks import ProfileCD, WebinarCD
from bot.services import stats as st
from db.models import ActivityLog, District, FsmRecord, Submission, User, WebinarRegistration
from tests.factories import make_coordinator, make_student
from tests.test_challenges import new_challenge
from tests.test_webinars import new_webinar, register


async def stored(h, user_id: int) -> User:
    async with h.app.sessionmaker() as s:
        return await s.get(User, user_id)


async def test_profile_shows_data_and_edit_buttons(h):
    await make_student(h, 101, locale="ru")
    u = h.user(101)
    await u.send("/profile")
    text = u.last_text()
    for expected in ("Школа", "School No. 1", "область Абай", "Счастье", "9", "Русский"):
        assert expected in text, expected
    assert len(u.buttons()) == 6


async def test_edit_name_with_wrong_answers(h):
    student = await make_student(h, 102)
    u = h.user(102)
    await u.send("/profile")
    await u.click("Name")
    assert "full name" in u.last_text()
    await u.send("A")
    assert "from 2 to 120 characters" in u.texts()[-2]
    assert "full name" in u.last_text()  # asked again
    await u.send_content(sticker={"file_id": "s1", "file_unique_id": "s1", "type": "regular",
                                  "width": 1, "height": 1, "is_animated": False,
                                  "is_video": False})
    assert "text message" in u.texts()[-2]
    await u.send("x" * 121)
    assert "from 2 to 120 characters" in u.texts()[-2]
    for junk in ("12345", "😀😀😀"):  # it is printed on certificates
        await u.send(junk)
        assert u.texts()[-2] == ("Please type a name in letters, as it should appear on "
                                 "certificates.")
    await u.send("  Aida   Serikova ")
    assert "Saved." in u.last_text()
    assert "Aida Serikova" in u.last_text()
    assert (await stored(h, student.id)).full_name == "Aida Serikova"
    await u.send("Just chatting")  # the edit is over: not taken as a name
    assert (await stored(h, student.id)).full_name == "Aida Serikova"


async def test_edit_grade_org_and_faction(h):
    student = await make_student(h, 103)
    u = h.user(103)
    await u.send("/profile")
    await u.click("Grade")
    await u.send("12")
    assert "from 1 to 11" in u.texts()[-2]
    await u.send("10")
    await u.click("Organisation")
    await u.send("Lyceum No. 2")
    await u.click("Faction")
    await u.click("Law and order")
    await u.click("Position")
    await u.click("Parliament president")
    row = await stored(h, student.id)
    assert (row.grade, row.org_name, row.faction, row.position) == (
        "10", "Lyceum No. 2", "law_order", "president")
    async with h.app.sessionmaker() as s:
        edits = (await s.scalars(select(ActivityLog).where(
            ActivityLog.kind == "profile_edit"))).all()
    assert [e.extra["field"] for e in edits] == ["grade", "org_name", "faction", "position"]


async def test_edit_region_and_district_with_the_picker(h):
    student = await make_student(h, 104)
    u = h.user(104)
    await u.send("/profile")
    await u.click("Region and district")
    await u.send("Narnia")
    assert "do not know such a region" in u.texts()[-2]
    await u.click("Almaty Region")
    await u.send("Talgar")
    await u.click("Talgar")
    row = await stored(h, student.id)
    async with h.app.sessionmaker() as s:
        district = await s.get(District, row.district_id)
    assert district.region_id == row.region_id != student.region_id
    assert "Talgar" in district.name_en
    assert "Saved." in u.last_text() and "Almaty Region" in u.last_text()


async def test_coordinator_cannot_move_own_scope(h):
    coordinator = await make_coordinator(h, 201)
    u = h.user(201)
    await u.send("/profile")
    # no CENTRE_CONTACT in this harness: nobody is sent to a centre they cannot reach
    assert "only centre staff can change them" in u.last_text()
    assert "contact the centre" not in u.last_text()
    assert not any("Region" in b for b in u.buttons())
    await u.press(ProfileCD(field="place").pack())
    await u.press(ProfileCD(field="faction", value="care").pack())
    row = await stored(h, coordinator.id)
    assert (row.region_id, row.district_id, row.faction) == (
        coordinator.region_id, coordinator.district_id, None)


async def test_deleteme_erases_personal_data_and_keeps_counts(h):
    student = await make_student(h, 105)
    u = h.user(105, language_code="en")
    await u.send("/profile")
    await u.click("Name")  # leaves FSM state behind in the database
    await u.send("/deleteme")
    await u.click("No")
    assert "Nothing was erased" in u.last_text()
    await u.send("/deleteme")
    await u.click("Yes")
    assert "erased" in u.last_text()

    async with h.app.sessionmaker() as s:
        row = await s.get(User, student.id)
        assert row.status == "erased" and row.erased_at == h.app.now()
        assert (row.tg_id, row.chat_id, row.full_name, row.org_name, row.grade) == (
            None, None, None, None, None)
        assert not (await s.scalars(select(FsmRecord).where(
            FsmRecord.key.contains(":105:")))).all()
        kinds = (await s.scalars(select(ActivityLog.kind).where(
            ActivityLog.user_id == student.id))).all()
        assert "erase" in kinds
        assert all(a.extra is None for a in (await s.scalars(select(ActivityLog))).all())

    await u.send("/profile")  # a guest now
    assert "not available" in u.last_text()
    await u.send("/start")
    assert "Hello" in " ".join(u.texts()[-2:])


async def test_mydata_sends_json_of_everything(h):
    student = await make_student(h, 106, org_name="Gymnasium No. 5")
    u = h.user(106)
    await u.send("/profile")
    await u.click("Grade")
    await u.send("11")
    await u.send("/mydata")
    call = h.api.last(106)
    assert call.method == "sendDocument"
    data = json.loads(call.files["document"])
    assert data["user"]["tg_id"] == 106
    assert data["user"]["org_name"] == "Gymnasium No. 5"
    assert data["user"]["grade"] == "11"
    assert data["user"]["id"] == student.id
    assert "profile_edit" in [a["kind"] for a in data["activity"]]


async def test_after_deleteme_no_table_holds_anything_personal(h):
    from sqlalchemy import text

    from bot.services.delivery import OutgoingMessage, Recipient, enqueue
    from db.models import Base

    tg_id, name, org = 7_700_105, "Aigerim Unique-Surname", "Gymnasium Unique-Org"
    student = await make_student(h, tg_id, org_name=org)
    async with h.app.sessionmaker() as s, s.begin():
        row = await s.get(User, student.id)
        row.full_name = name
        await enqueue(s, "notice", 1, [Recipient(student.id, tg_id)],
                      {"default": OutgoingMessage(text="Hello")})
    h.app.users.forget(tg_id)
    await h.drain()
    u = h.user(tg_id, language_code="en")
    await u.send("/profile")
    await u.send("/deleteme")
    await u.click("Yes")
    async with h.app.sessionmaker() as s:
        for table in Base.metadata.sorted_tables:
            for values in (await s.execute(text(f"SELECT * FROM {table.name}"))).all():
                for value in values:
                    assert value != tg_id, f"{table.name} keeps the Telegram id"
                    if isinstance(value, str):
                        assert name not in value and org not in value, table.name
                        assert str(tg_id) not in value, f"{table.name} keeps the Telegram id"


def tree(n: int) -> list[dict]:
    return [{"file_id": f"AgTree{n}", "file_unique_id": f"uTree{n}", "width": 1280,
             "height": 960, "file_size": 1_000}]


async def send_entries(h, tg_id: int) -> tuple[int, int]:
    """An album captioned "Trees" with a comment, and a text entry: (album's, text's
    challenge)."""
    album, essay = await new_challenge(h, content=("photo",)), await new_challenge(h)
    u = h.user(tg_id, language_code="en")
    await u.press(f"ch:submit:{album}:")
    for n in (1, 2):
        await u.send_content(photo=tree(n), media_group_id="album-trees",
                             caption="Trees" if n == 1 else None)
    await u.send("Made by 9B")
    await u.click("Send")
    await u.press(f"ch:submit:{essay}:")
    await u.send("An essay about the old oak")
    await u.click("Send without a comment")
    return album, essay


async def test_deleteme_withdraws_entries_frees_seats_and_keeps_counts(h, clock):
    student = await make_student(h, 105)
    for tg_id in (106, 107):
        await make_student(h, tg_id)
    await make_coordinator(h, 201)
    held = await new_webinar(h, starts_at=h.app.now() + timedelta(minutes=30), capacity=2)
    await register(h, 105, held)
    clock.advance(minutes=30)
    await h.user(105).press(WebinarCD(action="here", id=held).pack())
    clock.advance(hours=3)  # that webinar is over: the attendance stays, anonymous
    await send_entries(h, 105)
    reviewer = h.user(201)
    await reviewer.press("rv:ok:2:")  # the essay goes on to the jury; the album still waits
    await reviewer.send("/review")
    assert "Entry No. 1" in reviewer.last_text()
    coming = await new_webinar(h, capacity=2)
    await register(h, 105, coming)
    await register(h, 106, coming)
    await register(h, 107, coming)
    assert "all places for this webinar are taken" in h.user(107).last_text()

    u = h.user(105, language_code="en")
    await u.send("/deleteme")
    await u.click("Yes")

    await reviewer.send("/review")
    assert "No entries are waiting" in reviewer.last_text()
    await register(h, 107, coming)  # the seat is free again
    assert "You are registered" in h.user(107).texts()[-2]
    async with h.app.sessionmaker() as s:
        entries = (await s.scalars(select(Submission).order_by(Submission.id))).all()
        assert [(e.user_id, e.status, e.content_kind) for e in entries] == [
            (student.id, "withdrawn", "album"), (student.id, "withdrawn", "text")]
        assert all((e.chat_id, e.text, e.comment, e.media, e.media_group_id) == (
            None, None, None, [], None) for e in entries)
        seats = dict((await s.execute(select(
            WebinarRegistration.webinar_id, WebinarRegistration.status).where(
            WebinarRegistration.user_id == student.id))).all())
        assert seats == {held: "registered", coming: "cancelled"}
        assert await s.scalar(select(WebinarRegistration.attended_at).where(
            WebinarRegistration.webinar_id == held)) is not None
        # The activity log is stamped with the real time, not the test clock's.
        today = datetime.now(UTC).date()
        days = st.parse_period(f"{today - timedelta(days=1)} {today + timedelta(days=1)}",
                               h.app.now(), h.app.settings.tz)
        counts = (await st.collect(s, days, st.Scope())).current
    assert (counts["submissions"], counts["approved"], counts["withdrawn"]) == (2, 1, 2)
    assert (counts["webinar_regs"], counts["attendance"]) == (4, 1)


async def test_after_deleteme_no_entry_or_caption_is_left(h):
    from sqlalchemy import text

    from db.models import Base

    await make_student(h, 7_700_106)
    await send_entries(h, 7_700_106)
    u = h.user(7_700_106, language_code="en")
    await u.send("/deleteme")
    await u.click("Yes")
    async with h.app.sessionmaker() as s:
        for table in Base.metadata.sorted_tables:
            for values in (await s.execute(text(f"SELECT * FROM {table.name}"))).all():
                stored_text = " ".join(str(v) for v in values)
                for personal in ("7700106", "Trees", "Made by 9B", "old oak", "AgTree",
                                 "uTree", "album-trees"):
                    assert personal not in stored_text, (table.name, personal)


async def test_mydata_has_entries_joins_and_webinars(h):
    await make_student(h, 108)
    album, essay = await send_entries(h, 108)
    wid = await new_webinar(h)
    await register(h, 108, wid)
    u = h.user(108)
    await u.send("/mydata")
    data = json.loads(h.api.last(108).files["document"])
    entries = {e["challenge_id"]: e for e in data["submissions"]}
    assert entries[essay]["text"] == "An essay about the old oak"
    assert entries[album]["comment"] == "Made by 9B"
    assert [m["caption"] for m in entries[album]["media"]] == ["Trees", None]
    assert {e["status"] for e in entries.values()} == {"pending"}
    assert sorted(j["challenge_id"] for j in data["challenge_joins"]) == sorted([album, essay])
    assert [(r["webinar_id"], r["status"]) for r in data["webinar_registrations"]] == [
        (wid, "registered")]
    assert data["certificates"] == []
