"""Challenges end to end: the staff wizard, joining, submitting, review, deadline, results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.notices.challenges import challenges_tick
from bot.services import challenges as svc
from db.models import ActivityLog, Delivery, User
from db.models.challenges import Challenge, ChallengeParticipant, Submission
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import BotHarness, make_harness


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h

PHOTO = [{"file_id": "AgPhotoSmall", "file_unique_id": "uSmall", "width": 90, "height": 90,
          "file_size": 1_000},
         {"file_id": "AgPhotoBig", "file_unique_id": "uBig", "width": 1280, "height": 960,
          "file_size": 200_000}]


def photo(n: int, size: int = 200_000) -> list[dict]:
    return [{"file_id": f"AgPhoto{n}", "file_unique_id": f"uPhoto{n}", "width": 1280,
             "height": 960, "file_size": size}]


async def new_challenge(h, kind: str = "challenge", days: int = 10, publish: bool = True,
                        content=("photo", "text"), max_submissions: int = 1,
                        nominations=None, categories=None, audience=None, tiers=()) -> int:
    """A challenge straight through the service (the wizard has its own test)."""
    now = h.app.now()
    staff = await staff_user(h) if publish else None
    async with h.app.sessionmaker() as s:
        c = await svc.create_challenge(s, {
            "kind": kind, "title_kk": "Менің сыныбым", "title_ru": "Мой класс",
            "title_en": "My class", "description_kk": "Сипаттама", "description_ru": "Описание",
            "description_en": "Description",
            "audience": audience or {}, "content_kinds": list(content),
            "max_submissions": max_submissions, "starts_at": now.isoformat(),
            "deadline_at": (now + timedelta(days=days)).isoformat(),
            "nominations": nominations or [], "categories": categories or [],
            "review_tiers": list(tiers)}, None, now)
        if publish:
            await svc.publish(s, h.app.challenge_notices, c.id, staff, now)
        await s.commit()
        return c.id


async def staff_user(h):
    async with h.app.sessionmaker() as s:
        existing = await s.scalar(select(User).where(User.tg_id == 900))
    return existing or await make_staff(h)


async def count(h, model, *where) -> int:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def kinds_logged(h) -> list[str]:
    async with h.app.sessionmaker() as s:
        return list((await s.scalars(select(ActivityLog.kind).order_by(ActivityLog.id))).all())


async def test_staff_wizard_creates_and_publishes_a_contest(h):
    await make_student(h, 101, locale="en")
    await make_student(h, 102, locale="ru")
    await make_student(h, 103, locale="kk", org_type="college")
    await staff_user(h)
    s = h.user(900)
    await s.send("/newchallenge")
    await s.click("Contest")
    assert "Title in Kazakh" in s.last_text()
    await s.send("Үздік баяндама")
    await s.send("Лучший доклад")
    await s.click("Skip")  # English title falls back to Russian
    await s.send("Баяндама жазыңыз")
    await s.send("Напишите доклад")
    await s.click("Skip")
    assert "Who may take part" in s.last_text()
    await s.click("School")
    assert "☑️ School" in s.buttons()
    await s.click("Next")
    assert "Which regions" in s.last_text()
    await s.click("Next")
    await s.click("Now")
    await s.send("30.02.2026 18:00")
    assert "25.11.2026 18:00" in s.last_text()  # not a date: asked again with an example
    await s.send("01.03.2026 18:00")
    assert "must be in the future" in s.last_text()
    await s.send("12.03.2026 18:00")
    assert "Nominations" in s.last_text()
    await s.send("Эссе | Эссе | Essay\nВидео | Видео")
    await s.send("7–9 сынып | 7–9 классы\n10–11 сынып | 10–11 классы")
    assert "Review tiers" in s.last_text()
    await s.click("District pre-screening")
    await s.click("Next")
    assert "Which content" in s.last_text()
    await s.click("Next")
    assert "at least one kind" in h.api.of("answerCallbackQuery", None)[-1].params["text"]
    await s.click("document")
    await s.click("Next")
    await s.send("0")
    assert "number from 1 to 50" in s.last_text()
    await s.send("2")
    await s.click("Skip")
    preview = s.last_text()
    assert "Preview" in preview and "Лучший доклад" in preview  # en falls back to ru
    assert "Essay" in preview and "12.03.2026 18:00" in preview and "School" in preview
    assert "Review tiers: District pre-screening" in preview
    await s.click("Publish")
    assert "Published: No. 1" in s.last_text()
    async with h.app.sessionmaker() as db:
        c = await db.get(Challenge, 1)
        assert (c.kind, c.status, c.max_submissions, c.content_kinds) == (
            "contest", "open", 2, ["document"])
        # 18:00 in Almaty is 13:00 UTC
        assert c.deadline_at.hour == 13 and c.audience["org_types"] == ["school"]
        assert c.review_tiers == ["district"]
    assert "challenge_published" in await kinds_logged(h)
    await h.drain()
    texts = {uid: h.api.texts(uid) for uid in (101, 102, 103)}
    assert any("New contest" in t and "Лучший доклад" in t for t in texts[101])
    assert any("Новый конкурс" in t and "Лучший доклад" in t for t in texts[102])
    assert texts[103] == []  # a college student is not in the audience


async def test_wizard_can_save_a_draft_and_staff_delete_it(h):
    await staff_user(h)
    s = h.user(900)
    await s.send("/newchallenge")
    await s.click("Action")
    for text in ("Акция", "Акция", "Action", "Сипат", "Описание", "Description"):
        await s.send(text)
    await s.click("Next")
    await s.click("Next")
    await s.send("05.03.2026 09:00")
    await s.send("05.03.2026 08:00")
    assert "after the start" in s.last_text()
    await s.send("06.03.2026")
    await s.click("Next")  # an action may accept no content: joining is taking part
    await s.click("Skip")
    await s.click("Save as draft")
    assert "draft No. 1" in s.last_text()
    await s.send("/challenges")
    assert "draft" in s.last_text()
    await s.click("No. 1")
    await s.click("Delete draft")
    assert "deleted" in s.last_text()
    assert await count(h, Challenge) == 0


async def test_student_lifecycle_in_english(h, clock):
    cid = await new_challenge(h, "contest", content=("photo",), nominations=[
        {"kk": "Эссе", "ru": "Эссе", "en": "Essay"}], categories=[
        {"kk": "7–9 сынып", "ru": "7–9 классы", "en": "Grades 7–9"}])
    await make_student(h, 101, locale="en")
    u = h.user(101)
    await u.send("/challenges")
    assert "Open challenges" in u.last_text()
    assert any("My class" in b and "10 d. left" in b for b in u.buttons())
    await u.click("My class")
    card = u.last_text()
    assert "Description" in card and "Essay" in card and "Grades 7–9" in card
    await u.click("Join")
    assert "You have joined" in u.last_text()
    assert await count(h, ChallengeParticipant) == 1
    await u.click("Send my entry")
    await u.click("Essay")
    await u.click("Grades 7–9")
    assert "Send your entry (photo)" in u.last_text()
    await u.send("just text")
    assert "not accepted here. Send: photo" in u.last_text()
    await u.send_content(photo=photo(1, size=60 * 1024 * 1024))
    assert "too big" in u.last_text()
    await u.send_content(photo=PHOTO, caption="Our class")
    assert "Received" in u.last_text()
    await u.send("Made by 9B")
    assert "Made by 9B" in u.last_text()
    await u.click("Send")
    assert "Your entry No. 1" in u.last_text()
    await u.press(f"ch:no:{cid}:")  # the same message's Cancel, after sending
    answer = h.api.of("answerCallbackQuery", None)[-1].params["text"]
    assert answer == "This button is no longer active."
    async with h.app.sessionmaker() as s:
        sub = await s.get(Submission, 1)
        assert sub.status == "pending" and sub.comment == "Made by 9B"
        assert sub.media == [{"type": "photo", "file_id": "AgPhotoBig", "file_unique_id": "uBig",
                              "size": 200_000, "caption": "Our class"}]
        assert sub.nomination_id and sub.category_id
    # the limit is one entry per person
    await u.click("Send my entry")
    assert "most entries allowed (1)" in u.last_text()
    await u.send("/my")
    assert "No. 1 · photo · waiting for review" in u.last_text()
    await u.click("Withdraw No. 1")
    await u.click("Yes, withdraw")
    assert "withdrawn" in u.last_text()
    await u.send("/my")
    assert "No. 1 · photo · withdrawn" in u.last_text()
    kinds = await kinds_logged(h)
    assert [k for k in kinds if k != "challenge_published"] == [
        "challenge_join", "submission", "submission_withdrawn"]
    async with h.app.sessionmaker() as s:
        rows = (await s.scalars(select(ActivityLog).where(ActivityLog.kind == "submission"))).all()
        assert (rows[0].ref_type, rows[0].ref_id, rows[0].extra["submission_id"]) == (
            "challenge", cid, 1)


async def test_album_counts_as_one_entry_and_captions_are_kept(h):
    await new_challenge(h, content=("photo", "video"))
    await make_student(h, 101)
    u = h.user(101)
    await u.press("ch:submit:1:")
    for n in range(3):
        await u.send_content(photo=photo(n), media_group_id="album-1",
                             caption="first" if n == 0 else None)
    assert sum("Received" in t for t in u.texts()) == 1
    await u.click("Send without a comment")
    async with h.app.sessionmaker() as s:
        sub = await s.get(Submission, 1)
        assert sub.content_kind == "album" and len(sub.media) == 3
        assert sub.media[0]["caption"] == "first" and sub.media_group_id == "album-1"
    assert await count(h, Submission) == 1


async def test_refusals_closed_deadline_audience_and_action(h, clock):
    cid = await new_challenge(h, days=1, audience={"org_types": ["university"]})
    await make_student(h, 101)
    u = h.user(101)
    await u.send("/challenges")
    assert "no open challenges" in u.last_text()
    await u.press(f"ch:join:{cid}:")
    assert "not open to your" in u.last_text()
    cid = await new_challenge(h, days=1)
    await u.press(f"ch:submit:{cid}:")
    await u.send_content(photo=PHOTO)
    clock.advance(days=2)  # the deadline passes while the user is at the last step
    await u.click("Send without a comment")
    assert "deadline has passed" in u.last_text()
    assert await count(h, Submission) == 0  # nothing half-saved
    await u.press(f"ch:submit:{cid}:")
    assert "deadline has passed" in u.last_text()
    action = await new_challenge(h, "action", content=())
    await u.press(f"ch:join:{action}:")
    assert "Thank you for taking part" in u.last_text()
    await u.press(f"ch:submit:{action}:")
    assert "joining is your participation" in u.last_text()


async def test_review_approve_reject_and_concurrent_review(h):
    cid = await new_challenge(h, content=("text", "link"), max_submissions=3)
    await make_student(h, 101, locale="en")
    await make_student(h, 102, locale="en", region_code="almaty_city")
    await make_coordinator(h, 201, level="regional")
    await make_coordinator(h, 202, level="district")
    u = h.user(101)
    for text in ("First essay", "See https://example.com/x", "Third"):
        await u.press(f"ch:submit:{cid}:")
        await u.send(text)
        await u.click("Send without a comment")
    other = h.user(102)
    await other.press(f"ch:submit:{cid}:")
    await other.send("Out of scope")
    await other.click("Send without a comment")
    r1, r2 = h.user(201), h.user(202)
    await r1.send("/review")
    assert "waiting for review: 3" in r1.texts()[-3]  # only the region's entries
    assert "First essay" in r1.texts()[-2] and "Entry No. 1" in r1.last_text()
    await r2.send("/review")
    assert "Entry No. 1" in r2.last_text()
    await r1.click("Approve")
    assert "No. 1 is approved" in r1.texts()[-3]
    await r2.click("Approve")  # the same entry, a moment later
    assert "This entry has already been reviewed." in r2.texts()[-4:]
    await r1.press("rv:rej:2:")
    await r1.click("Off topic")
    assert "No. 2 is rejected" in " ".join(r1.texts()[-4:])
    await r1.press("rv:rej:3:")
    await r1.click("Type a reason")
    await r1.send("Please add photos")
    async with h.app.sessionmaker() as s:
        statuses = dict((await s.execute(select(Submission.id, Submission.status))).all())
        reasons = dict((await s.execute(select(Submission.id, Submission.reject_reason))).all())
    assert statuses == {1: "approved", 2: "rejected", 3: "rejected", 4: "pending"}
    assert reasons[3] == "Please add photos"
    await r1.press("rv:ok:4:")  # outside the coordinator's region
    assert "Not found" in " ".join(r1.texts()[-3:])
    await h.drain()
    texts = u.texts()
    assert "✅ Your entry No. 1 to “My class” was approved." in texts
    assert any(t.startswith("Your entry No. 2 to “My class” was not accepted.") for t in texts)
    assert any("does not match the topic" in t for t in texts)
    assert any("Please add photos" in t for t in texts)
    kinds = await kinds_logged(h)
    assert kinds.count("submission_approved") == 1 and kinds.count("submission_rejected") == 2
    # A rejected entry cannot be withdrawn, so it does not use up one of the three places.
    await u.press(f"ch:submit:{cid}:")
    await u.send("Fourth, now with photos")
    await u.click("Send without a comment")
    assert "Your entry No. 5" in u.last_text()


async def test_deadline_tick_closes_once_across_a_restart(h, clock, tmp_path):
    cid = await new_challenge(h, days=2)
    await make_student(h, 101)
    u = h.user(101)
    await u.press(f"ch:join:{cid}:")
    clock.advance(days=1, hours=1)  # inside the last day: one reminder
    await challenges_tick(h.app)
    await challenges_tick(h.app)
    await h.drain()
    reminders = [t for t in u.texts() if "Reminder" in t]
    assert len(reminders) == 1
    clock.advance(days=1)
    await h.close()
    h2 = await make_harness(str(tmp_path / "bot.db"), clock, staff_ids=frozenset({900}))
    try:
        await challenges_tick(h2.app)
        await challenges_tick(h2.app)
        async with h2.app.sessionmaker() as s:
            assert (await s.get(Challenge, cid)).status == "closed"
            closed = await s.scalar(select(func.count()).select_from(ActivityLog).where(
                ActivityLog.kind == "challenge_closed"))
        assert closed == 1
        await h2.user(101).press(f"ch:submit:{cid}:")
        assert "deadline has passed" in h2.user(101).last_text()
    finally:
        await h2.close()


@pytest.mark.parametrize(("locale", "words"), [
    ("kk", {"join": "Қосылу", "send": "Жұмысты жіберу", "nom": "Эссе", "ok": "Түсініктемесіз",
            "received": "№ 1 жұмысыңыз алынды", "approved": "мақұлданды",
            "won": "Құттықтаймыз", "place": "1-орын", "title": "Менің сыныбым"}),
    ("ru", {"join": "Присоединиться", "send": "Отправить работу", "nom": "Эссе",
            "ok": "без комментария", "received": "Ваша работа № 1", "approved": "одобрена",
            "won": "Поздравляем", "place": "1 место", "title": "Мой класс"}),
])
async def test_whole_life_cycle_in_kazakh_and_russian(h, clock, locale, words):
    await make_student(h, 101, locale=locale)
    await make_student(h, 102, locale=locale, org_name="School No. 2")
    await make_coordinator(h, 201, level="regional", locale=locale)
    cid = await new_challenge(h, "contest", content=("photo",), nominations=[
        {"kk": "Эссе", "ru": "Эссе", "en": "Essay"}])
    await h.drain()
    assert words["title"] in h.api.texts(101)[-1]  # the announcement, in the user's language
    u = h.user(101)
    await u.send("/challenges")
    await u.click(words["title"])
    await u.click(words["join"])
    await u.click(words["send"])
    await u.click(words["nom"])
    await u.send_content(photo=PHOTO)
    await u.click(words["ok"])
    assert words["received"] in u.last_text()
    await h.user(102).press(f"ch:join:{cid}:")
    r = h.user(201)
    await r.send("/review")
    await r.press("rv:ok:1:")
    await h.drain()
    assert any(words["approved"] in t for t in u.texts())
    clock.advance(days=11)
    await challenges_tick(h.app)
    s = h.user(900)
    await s.send("/challenges")
    await s.press(f"cha:win:{cid}:")
    await s.send("1 1")
    await s.press(f"cha:res:{cid}:")
    await h.drain()
    assert words["won"] in u.last_text() and words["place"] in u.last_text()
    assert words["title"] in h.api.texts(102)[-1] and words["won"] not in h.api.texts(102)[-1]
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).status == "judged"
    kinds = await kinds_logged(h)
    assert {"challenge_published", "challenge_join", "submission", "submission_approved",
            "winner", "challenge_closed"} <= set(kinds)


async def test_staff_manages_extends_closes_and_counts(h, clock):
    cid = await new_challenge(h, days=3, content=("text",), max_submissions=2)
    await make_student(h, 101)
    u = h.user(101)
    for text in ("one", "two"):
        await u.press(f"ch:submit:{cid}:")
        await u.send(text)
        await u.click("Send without a comment")
    s = h.user(900)
    await s.send("/challenges")
    assert "open" in s.last_text() and "1 / 2" in s.last_text()
    await s.click("No. 1")
    card = s.last_text()
    assert "Participants: 1" in card and "waiting for review: 2" in card
    await s.click("Edit")
    await s.click("Entries per person")
    await s.send("3")
    assert "Saved" in " ".join(s.texts()[-2:])
    await s.press(f"cha:ext:{cid}:")
    await s.send("01.01.2020 10:00")
    assert "in the future" in s.last_text()
    sooner = (h.app.now() + timedelta(days=1)).astimezone(h.app.settings.tz)
    await s.send(sooner.strftime("%d.%m.%Y %H:%M"))  # before the current deadline
    assert "must be later than the current one" in s.last_text()
    await s.send("20.03.2026 18:00")
    async with h.app.sessionmaker() as db:
        c = await db.get(Challenge, cid)
        assert c.max_submissions == 3 and c.deadline_at.day == 20
    await s.press(f"cha:close:{cid}:")
    assert "is closed" in s.last_text()
    await s.press(f"cha:close:{cid}:")
    assert "is not open" in s.last_text()
    await u.press(f"ch:submit:{cid}:")
    assert "deadline has passed" in u.last_text()
    # extending a closed (not yet judged) challenge opens it again
    await s.press(f"cha:ext:{cid}:")
    await s.send("25.03.2026 18:00")
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).status == "open"
    await s.send("/newchallenge")
    await s.send("/cancel")
    assert await count(h, Challenge) == 1


async def test_winner_lines_are_checked(h, clock):
    cid = await new_challenge(h, days=1, content=("text",))
    await make_student(h, 101)
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send("my entry")
    await u.click("Send without a comment")
    s = h.user(900)
    await s.send("/challenges")
    await s.press(f"cha:res:{cid}:")
    assert "Close the challenge first" in s.last_text()
    clock.advance(days=2)
    await challenges_tick(h.app)
    await s.press(f"cha:win:{cid}:")
    await s.send("1 first")
    assert "Line 1" in s.last_text()
    await s.send("7 1")
    assert "no entry No. 7" in s.last_text()
    await s.send("1 gp")
    assert "Not approved (still waiting for review" in s.last_text()  # only approved ones
    await s.press("rv:ok:1:")
    await s.press(f"cha:win:{cid}:")
    await s.send("1 gp")
    assert "Saved the place for 1 entry." in s.texts()[-2]
    async with h.app.sessionmaker() as db:
        assert (await db.get(Submission, 1)).place == "grand_prix"


async def test_export_is_an_xlsx_with_one_row_per_entry(h):
    from io import BytesIO

    from openpyxl import load_workbook

    cid = await new_challenge(h, "contest", content=("photo", "text"), max_submissions=5,
                              nominations=[{"kk": "Эссе", "ru": "Эссе", "en": "Essay"}])
    await make_student(h, 101)
    async with h.app.sessionmaker() as db:
        student = await db.scalar(select(User).where(User.tg_id == 101))
        student.full_name = "Aida Nurlan"
        await db.commit()
    h.app.users.forget(101)
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.click("Essay")
    await u.send_content(photo=PHOTO)
    await u.click("Send without a comment")
    s = h.user(900)
    await s.send("/export_challenge")
    assert "Usage" in s.last_text()
    await s.send("/export_challenge 99")
    assert "Not found" in s.last_text()
    await s.send(f"/export_challenge {cid}")
    call = h.api.of("sendDocument", 900)[-1]
    data = next(iter(call.files.values()))
    ws = load_workbook(BytesIO(data)).active
    assert ws.title == "Entries"  # in the staff member's language, like the headers
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Entry", "Participant", "Organisation")
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Participant"] == "Aida Nurlan" and row["Organisation"] == "School No. 1"
    assert row["Region"] == "Abai Region" and row["Nomination"] == "Essay"
    assert row["Status"] == "waiting for review" and row["Telegram file ids"] == "AgPhotoBig"
    assert row["Submitted at (Almaty)"] == "2026-03-02 11:00"  # 06:00 UTC


async def test_challenge_participant_ids_and_the_callback_layout(h):
    from bot.callbacks import ChallengeCD
    from bot.notices.challenges import challenge_cb

    assert ChallengeCD(action="card", id=5).pack() == challenge_cb("card", 5)
    cid = await new_challenge(h)
    await make_student(h, 101)
    await h.user(101).press(f"ch:join:{cid}:")
    await h.user(101).press(f"ch:join:{cid}:")
    async with h.app.sessionmaker() as s:
        ids = await svc.challenge_participant_ids(s, cid)
    assert len(ids) == 1
    assert await count(h, Delivery) >= 0


async def test_coordinator_sees_who_has_not_sent_and_nudges_once(h):
    cid = await new_challenge(h, content=("text",))
    await make_student(h, 101, org_name="School No. 1")
    await make_student(h, 102, org_name="School No. 2")
    await make_student(h, 103, org_name="School No. 3")
    await make_student(h, 104, region_code="almaty_city", org_name="Far School")
    await make_coordinator(h, 201, level="regional")
    for tg in (101, 102, 104):
        await h.user(tg).press(f"ch:join:{cid}:")
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send("entry")
    await u.click("Send without a comment")
    c = h.user(201)
    await c.send("/challenges")
    await c.click("My class")
    await c.click("Who has not sent yet")
    text = c.last_text()
    assert "have not sent an entry: 1" in text and "School No. 2" in text
    assert "with no entries: 2" in text and "School No. 3" in text
    assert "Far School" not in text  # another region
    await c.click("Remind them")
    assert "A reminder is on its way to 1 person." in c.last_text()
    await c.click("Remind them")
    assert "already reminded today" in c.last_text()
    await h.drain()
    assert any("Reminder" in t for t in h.api.texts(102))
    assert not any("Reminder" in t for t in h.api.texts(104))
    await h.user(101).press(f"ch:gap:{cid}:")
    assert "not available" in h.api.of("answerCallbackQuery")[-1].params["text"]


async def test_coordinator_invites_the_schools_with_no_entry_once_a_day(h):
    cid = await new_challenge(h, content=("text",))
    await make_student(h, 101, org_name="School No. 1")
    await make_student(h, 102, org_name="School No. 2", locale="ru")
    await make_student(h, 103, org_name="School No. 2", locale="kk")
    await make_student(h, 104, org_name="School No. 1")
    await make_student(h, 105, region_code="almaty_city", org_name="Far School")
    await make_coordinator(h, 201, level="regional")
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send("entry")
    await u.click("Send without a comment")
    c = h.user(201)
    await c.press(f"ch:gap:{cid}:")
    assert "have not sent an entry: 0" in c.last_text()
    assert "Remind them" not in c.buttons()  # nobody joined without sending
    await c.click("Invite these schools")
    assert "on their way to 2" in c.last_text()
    await c.click("Invite these schools")
    assert "already reminded today" in c.last_text()
    await h.drain()
    assert any("от вашей школы ещё нет ни одной работы" in t for t in h.api.texts(102))
    assert any("мектебіңізден әлі бірде-бір жұмыс жоқ" in t for t in h.api.texts(103))
    for other in (101, 104, 105):  # a school with an entry; another region
        assert not any("no entry yet" in t for t in h.api.texts(other))
    assert "challenge_nudge_schools" in await kinds_logged(h)


async def score_all(u, values: list[int]) -> None:
    for value in values:
        buttons = [b for b in u.h.api.last(u.id).params["reply_markup"]["inline_keyboard"]
                   for b in b]
        data = next(b["callback_data"] for b in buttons if b["text"] == str(value))
        await u.press(data)


async def test_jury_recusal_quorum_progress_and_ranking_with_ties(h, clock):
    cid = await new_challenge(h, "contest", content=("text",))
    people = [(101, "abai"), (102, "abai"), (103, "almaty_city"), (104, "almaty_city")]
    for tg, region in people:
        await make_student(h, tg, region_code=region, org_name=f"School {tg}")
        await h.user(tg).press(f"ch:submit:{cid}:")
        await h.user(tg).send(f"entry of {tg}")
        await h.user(tg).click("Send without a comment")
    await make_student(h, 301, region_code="abai", org_name="Jury 1")
    await make_student(h, 302, region_code="astana", org_name="Jury 2")
    s = h.user(900)
    for n in range(1, 5):  # the jury judges entries that passed review
        await s.press(f"rv:ok:{n}:")
    await s.send(f"/jury {cid}")
    assert "Scores needed per entry: 3" in s.last_text()
    await s.click("Criteria")
    await s.send("Идея | Идея | Idea\nОрындалуы | Исполнение | Execution")
    await s.click("Quorum")
    await s.send("2")
    await s.click("Add a juror")
    await s.send("99999")
    assert "No registered user" in s.last_text()
    await s.send("301")
    await s.click("Add a juror")
    await s.send("302")
    assert "Jury 1" not in s.last_text()  # names, not organisations
    await h.drain()
    j1, j2 = h.user(301), h.user(302)
    assert any("on the jury" in t for t in j1.texts())
    await j1.click("Start judging")
    # the Abai juror never sees Abai entries: the first is No. 3
    assert "Entry No. 3" in j1.last_text() and "Idea" in j1.last_text()
    assert "entry of 103" in j1.texts()[-2]
    await score_all(j1, [8])
    assert "Execution" in j1.last_text()
    await score_all(j1, [6])
    assert "No. 3 is scored" in j1.texts()[-3] and "Entry No. 4" in j1.last_text()
    await score_all(j1, [9, 5])  # No. 4: 14, the same total as No. 3
    assert "every entry that needs your score" in j1.last_text()
    await j2.click("Start judging")
    seen = []
    for _ in range(4):
        text = j2.last_text()
        seen.append(int(text.split("Entry No. ")[1].split("<")[0].split()[0]))
        await score_all(j2, {1: [9, 9], 2: [5, 5]}.get(seen[-1], [7, 7]))
    assert sorted(seen) == [1, 2, 3, 4]
    await j1.press("ch:js:1:0_5")
    assert "own region or organisation" in j1.last_text()
    await s.send(f"/jury {cid}")
    assert "2 / 2" in s.last_text() and "4 / 4" in s.last_text()
    await s.click("Ranking")
    ranking = s.last_text()
    # No. 3 and 4: (14 + 14) / 2 = 14.00, tied second; No. 1 and 2: one juror each
    assert "1. No. 1 — 18.00 (scores: 1)\n" in ranking
    assert "2=. No. 3 — 14.00 (scores: 2) ✓" in ranking
    assert "2=. No. 4 — 14.00 (scores: 2) ✓" in ranking
    assert "4. No. 2 — 10.00 (scores: 1)" in ranking
    await s.click("Close the round")
    await s.click("Yes, close the round")  # it asks first
    await j1.click("Start judging")
    assert "round is closed" in j1.last_text()


async def test_tiered_review_district_then_regional(h):
    cid = await new_challenge(h, "contest", content=("text",), tiers=("district", "regional"))
    await make_student(h, 101)
    await make_coordinator(h, 201, level="district")
    await make_coordinator(h, 202, level="regional")
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send("my essay")
    await u.click("Send without a comment")
    regional, district = h.user(202), h.user(201)
    await regional.send("/review")
    assert "No entries are waiting" in regional.last_text()  # the district screens first
    await district.send("/review")
    assert "Review tier: district pre-screening" in district.last_text()
    await district.click("Approve")
    assert "goes on to the next tier: regional shortlist" in " ".join(district.texts()[-3:])
    await regional.press("rv:ok:1:")  # only now
    assert "No. 1 is approved" in " ".join(regional.texts()[-3:])
    await district.press("rv:ok:1:")
    assert "This entry has already been reviewed." in district.texts()[-3:]
    await h.drain()
    approvals = [t for t in u.texts() if "approved" in t]
    assert len(approvals) == 1  # the participant hears only the final decision
    kinds = await kinds_logged(h)
    assert kinds.count("submission_promoted") == 1 and kinds.count("submission_approved") == 1


async def test_closing_and_publishing_results_are_asked_first(h):
    cid = await new_challenge(h, content=("text",))
    s = h.user(900)
    await s.press(f"cha:man:{cid}:")
    await s.click("Close now")
    assert s.last_text().startswith(f"Close No. {cid} now?")
    await s.click("No")
    assert s.last_text() == "Cancelled. Nothing was saved."
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).status == "open"
    await s.press(f"cha:man:{cid}:")
    await s.click("Close now")
    await s.click("Yes, close it")
    assert "is closed" in s.last_text()
    await s.press(f"cha:man:{cid}:")
    await s.click("Publish the results")
    assert "Every participant gets a message at once" in s.last_text()
    await s.click("Yes, publish")
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).status == "judged"


async def test_a_regional_coordinator_pre_screens_for_a_district_without_a_coordinator(h):
    await new_challenge(h, "contest", content=("text",), tiers=("district", "regional"))
    await make_coordinator(h, 201, level="district", district_index=0)
    await make_coordinator(h, 202, level="regional")
    await make_student(h, 101, district_index=0)  # a district with its own coordinator
    await make_student(h, 102, district_index=1)  # a district without one
    for tg in (101, 102):
        u = h.user(tg)
        await u.press("ch:submit:1:")
        await u.send(f"Entry of {tg}")
        await u.click("Send without a comment")
    regional = h.user(202)
    await regional.send("/review")
    assert "waiting for review: 1" in " ".join(regional.texts()[-3:])
    assert "Entry of 102" in " ".join(regional.texts()[-3:])  # not 101: their district screens
    await regional.press("rv:ok:1:")  # the covered district's entry stays with its coordinator
    assert "This entry has already been reviewed." in regional.texts()[-3:]
    await regional.press("rv:ok:2:")  # pre-screened, then shortlisted by the same hand
    await regional.press("rv:ok:2:")
    async with h.app.sessionmaker() as db:
        statuses = dict((await db.execute(select(Submission.id, Submission.status))).all())
    assert statuses == {1: "pending", 2: "approved"}
