"""The jury ranking applied to places in one step: choice, preview, confirmation, refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import challenges as svc
from bot.services import jury
from db.models import ActivityLog
from db.models.challenges import Challenge, JuryMember, Submission
from tests.factories import make_staff, make_student, score_offered
from tests.harness import BotHarness
from tests.test_challenges import new_challenge, staff_user

ESSAY = {"kk": "Эссе", "ru": "Эссе", "en": "Essay"}
VIDEO = {"kk": "Бейне", "ru": "Видео", "en": "Video"}


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def judged_contest(h, scores: dict[int, list[int]], video: tuple[int, ...] = (),
                         close: bool = True, quorum: int = 2) -> int:
    """A contest whose entry No. k is sent by student 100 + k (Essay, or Video for the
    numbers in `video`), approved at review by staff (only approved entries go to the jury)
    and scored on one criterion by jurors 301, 302, … in that order."""
    cid = await new_challenge(h, "contest", content=("text",), nominations=[ESSAY, VIDEO])
    async with h.app.sessionmaker() as s:
        nominations, _categories = await svc.get_options(s, cid)
    for k in sorted(scores):
        await make_student(h, 100 + k, org_name=f"School {k}")
        u = h.user(100 + k)
        await u.press(f"ch:submit:{cid}:")
        await u.press(f"ch:nom:{cid}:{nominations[1 if k in video else 0].id}")
        await u.send(f"entry {k}")
        await u.click("Send without a comment")
        await h.user(900).press(f"rv:ok:{k}:")
    jurors = []
    for n in range(max(len(v) for v in scores.values())):
        jurors.append(await make_student(h, 301 + n, region_code="astana",
                                         org_name=f"Jury {n}"))
    async with h.app.sessionmaker() as s:
        challenge = await s.get(Challenge, cid)
        challenge.jury_criteria = [{"kk": "Идея", "ru": "Идея", "en": "Idea"}]
        challenge.jury_quorum = quorum
        s.add_all(JuryMember(challenge_id=cid, user_id=j.id, added_at=h.app.now())
                  for j in jurors)
        await s.flush()
        for k, values in scores.items():
            for juror, value in zip(jurors, values, strict=False):
                await score_offered(s, k, juror.id, 0, value, h.app.now())
        await s.commit()
    if close:
        async with h.app.sessionmaker() as s:
            await svc.close(s, cid, None, h.app.now())
            await s.commit()
    return cid


async def places(h) -> dict[int, str | None]:
    async with h.app.sessionmaker() as s:
        return dict((await s.execute(select(Submission.id, Submission.place))).all())


async def logged(h, kind: str) -> list[ActivityLog]:
    async with h.app.sessionmaker() as s:
        return list((await s.scalars(select(ActivityLog).where(ActivityLog.kind == kind)
                                     .order_by(ActivityLog.id))).all())


def button_data(u, text: str) -> str:
    for row in u.h.api.last(u.id).params["reply_markup"]["inline_keyboard"]:
        for b in row:
            if text in b["text"]:
                return b["callback_data"]
    raise AssertionError(f"no button {text!r}")


# Essay: No. 1 = 9, No. 2 = No. 3 = 8 (tied), No. 4 = 6, No. 5 one score only (no quorum),
# No. 6 = 4. Video: No. 7 = 7.
SCORES = {1: [9, 9], 2: [8, 8], 3: [8, 8], 4: [6, 6], 5: [10], 6: [4, 4], 7: [7, 7]}


async def test_ranking_to_places_preview_keep_then_overwrite(h, clock):
    cid = await judged_contest(h, SCORES, video=(7,), close=False)
    staff = await staff_user(h)
    s = h.user(900)
    await s.press(f"cha:jrank:{cid}:")
    assert "once the challenge is closed" in s.last_text()
    assert "Apply to places" not in " ".join(s.buttons())
    await s.press(f"cha:rkap:{cid}:")  # an old or forged button while it is still open
    assert "Close the challenge first" in s.last_text()
    await s.press(f"cha:rkpv:{cid}:3")
    assert "Close the challenge first" in s.last_text()
    async with h.app.sessionmaker() as db:
        await svc.close(db, cid, None, h.app.now())
        await db.commit()
    # places set by hand before: No. 3 first, No. 7 the Grand Prix
    await s.press(f"cha:win:{cid}:")
    await s.send("3 1\n7 gp")
    await s.press(f"cha:jrank:{cid}:")
    await s.click("Apply to places")
    assert "How many ranks after the top three get a diploma" in s.last_text()
    assert s.buttons() == ["No diplomas", "3", "5", "10", "All the others"]
    await s.click("3")
    preview = s.last_text()
    assert "<b>Essay</b>\n1st place: No. 1 (9.00)\n2nd place: No. 2 (8.00), No. 3 (8.00)\n" \
           "Diploma: No. 4 (6.00), No. 6 (4.00)" in preview
    assert "<b>Video</b>\n1st place: No. 7 (7.00)" in preview
    assert "New places: 4." in preview
    assert "Already placed differently (by hand or earlier): 1\n• No. 3: 1st place → 2nd place" \
        in preview
    assert "Grand Prix set by hand stays: No. 7." in preview
    assert "without the quorum get no place: 1." in preview
    assert "jury round is still open" in preview
    assert await places(h) == {1: None, 2: None, 3: "1", 4: None, 5: None, 6: None,
                               7: "grand_prix"}  # a preview stores nothing
    assert s.buttons() == ["✅ Apply, keep the places already set (1)",
                           "⚠️ Apply and overwrite the places already set (1)", "« Back",
                           "✖️ Cancel"]
    await s.click("Apply, keep")
    assert "Places from the ranking are saved for 4 entries." in s.texts()[-2]
    assert "Winners: 6" in s.last_text()  # the management card follows
    assert await places(h) == {1: "1", 2: "2", 3: "1", 4: "diploma", 5: None, 6: "diploma",
                               7: "grand_prix"}
    winners = await logged(h, "winner")  # through set_places: one row per new winner
    assert sorted(w.extra["submission_id"] for w in winners) == [1, 2, 3, 4, 6, 7]
    runs = await logged(h, "places_from_ranking")
    assert len(runs) == 1 and runs[0].user_id == staff.id and runs[0].extra == {
        "diplomas": 3, "overwrite": False, "changed": 4, "overwritten": 0}
    # again, now overwriting the hand-set 1st place of No. 3
    await s.press(f"cha:rkpv:{cid}:3")
    assert "New places: 0." in s.last_text() and "• No. 3: 1st place → 2nd place" in s.last_text()
    assert s.buttons()[0] == "⚠️ Apply and overwrite the places already set (1)"
    await s.click("Apply and overwrite")
    assert "saved for 1 entry." in s.texts()[-2]
    assert (await places(h))[3] == "2"
    await s.press(f"cha:rkpv:{cid}:3")
    assert "Nothing to change" in s.last_text()
    assert s.buttons() == ["« Back", "✖️ Cancel"]
    await s.click("Cancel")
    assert "No places were changed" in s.last_text()


async def test_a_stale_preview_is_not_applied(h):
    cid = await judged_contest(h, {1: [9, 9], 2: [8, 8], 3: [7, 7], 4: [6, 6]})
    s = h.user(900)
    async with h.app.sessionmaker() as db:
        await jury.close_round(db, cid, None, h.app.now())
        await db.commit()
    await s.press(f"cha:rkpv:{cid}:0")
    preview = s.last_text()
    assert "3rd place: No. 3" in preview and "No. 4" not in preview
    assert "still open" not in preview
    stale = button_data(s, "Apply")
    await s.press(f"cha:win:{cid}:")  # meanwhile someone sets a place by hand
    await s.send("4 diploma")
    await s.press(stale)
    assert "changed since this preview" in s.texts()[-2]
    assert "• No. 4: Diploma → no place" in s.last_text()
    assert await places(h) == {1: None, 2: None, 3: None, 4: "diploma"}
    await s.click("Apply and overwrite")
    assert await places(h) == {1: "1", 2: "2", 3: "3", 4: None}
    await s.press(f"cha:rkok:{cid}:0.x.abc")  # a forged mode changes nothing
    await s.press(f"cha:rkok:{cid}:zz.o.abc")
    assert "number" in s.last_text()
    assert await places(h) == {1: "1", 2: "2", 3: "3", 4: None}
    await s.press(f"cha:res:{cid}:")
    await s.press(f"cha:rkpv:{cid}:5")  # still possible, with a warning
    assert "Diploma: No. 4 (6.00)" in s.last_text()
    assert "results are already published: participants will not hear" in s.last_text()


async def test_places_need_the_quorum_and_staff(h):
    cid = await judged_contest(h, {1: [9], 2: [8]})  # one juror each; the quorum is 2
    s = h.user(900)
    await s.press(f"cha:jrank:{cid}:")
    assert "Apply to places" in " ".join(s.buttons())
    await s.click("Apply to places")
    await s.click("All the others")
    assert "No entry has reached the quorum yet" in s.last_text()
    await s.press("cha:rkap:999:")
    assert "Not found" in s.last_text()
    student = h.user(101)
    for data in (f"cha:rkap:{cid}:", f"cha:rkpv:{cid}:3", f"cha:rkok:{cid}:3.o.abcdef"):
        await student.press(data)
        assert "not available to you" in h.api.of("answerCallbackQuery")[-1].params["text"]
    assert await places(h) == {1: None, 2: None}
    assert await logged(h, "places_from_ranking") == []


@pytest.mark.parametrize(("locale", "words"), [
    ("kk", {"apply": "Рейтинг бойынша орын беру", "all": "Қалғандарының бәрі",
            "first": "1-орын: № 1", "second": "2-орын: № 2 (8.00), № 3 (8.00)",
            "diploma": "Дипломант: № 4", "ok": "✅ Орын беру",
            "saved": "Рейтинг бойынша орындар 4 жұмысқа сақталды.",
            "closed": "Алдымен қабылдауды жабыңыз."}),
    ("ru", {"apply": "Применить к местам", "all": "Всем остальным", "first": "1 место: № 1",
            "second": "2 место: № 2 (8.00), № 3 (8.00)", "diploma": "Дипломант: № 4",
            "ok": "✅ Применить", "saved": "Места по рейтингу сохранены для 4 работ.",
            "closed": "Сначала закройте приём работ."}),
])
async def test_ranking_to_places_in_kazakh_and_russian(h, locale, words):
    staff = await make_staff(h, locale=locale)
    cid = await judged_contest(h, {1: [9, 9], 2: [8, 8], 3: [8, 8], 4: [3, 3]})
    open_cid = await new_challenge(h, "contest", content=("text",))
    s = h.user(900)
    await s.press(f"cha:rkap:{open_cid}:")
    assert words["closed"] in s.last_text()
    await s.press(f"cha:jrank:{cid}:")
    await s.click(words["apply"])
    await s.click(words["all"])
    preview = s.last_text()
    assert words["first"] in preview and words["second"] in preview
    assert words["diploma"] in preview
    await s.click(words["ok"])
    assert words["saved"] in s.texts()[-2]
    assert await places(h) == {1: "1", 2: "2", 3: "2", 4: "diploma"}
    runs = await logged(h, "places_from_ranking")
    assert runs[-1].user_id == staff.id and runs[-1].extra["diplomas"] is None


def test_place_for_rank():
    assert [jury.place_for_rank(r, 0) for r in (1, 2, 3, 4)] == ["1", "2", "3", None]
    assert [jury.place_for_rank(r, 2) for r in (4, 5, 6)] == ["diploma", "diploma", None]
    assert jury.place_for_rank(500, None) == "diploma"


async def test_ties_share_a_place_and_skip_the_next(h):
    cid = await judged_contest(h, {1: [9, 9], 2: [9, 9], 3: [7, 7], 4: [5, 5], 5: [5, 5]})
    async with h.app.sessionmaker() as db:
        plan = await jury.plan_places(db, cid, 1)
    got = {p.submission_id: (p.rank, p.tied, p.place) for p in plan.entries()}
    assert got == {1: (1, True, "1"), 2: (1, True, "1"), 3: (3, False, "3"),
                   4: (4, True, "diploma"), 5: (4, True, "diploma")}
    assert plan.changes(overwrite=False) == [(1, "1"), (2, "1"), (3, "3"), (4, "diploma"),
                                             (5, "diploma")]
