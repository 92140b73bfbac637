"""The jury judges only entries that passed review, and every change to the jury round is in
the activity log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.services import challenges as svc
from db.models import ActivityLog
from db.models.challenges import Challenge, JuryMember, JuryScore, Submission
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import BotHarness
from tests.test_challenges import new_challenge, score_all, staff_user


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def logged(h, *kinds: str) -> list[tuple[str, int | None, dict | None]]:
    async with h.app.sessionmaker() as s:
        return [(a.kind, a.user_id, a.extra) for a in (await s.scalars(
            select(ActivityLog).where(ActivityLog.kind.in_(kinds))
            .order_by(ActivityLog.id))).all()]


async def scores(h) -> dict[tuple[int, int], int]:
    """(entry, criterion) -> score, for every juror together."""
    async with h.app.sessionmaker() as s:
        return {(sid, c): v for sid, c, v in (await s.execute(
            select(JuryScore.submission_id, JuryScore.criterion, JuryScore.score))).all()}


async def submit(h, tg: int, cid: int, text: str) -> None:
    u = h.user(tg)
    await u.press(f"ch:submit:{cid}:")
    await u.send(text)
    await u.click("Send without a comment")


@pytest.mark.parametrize(("locale", "words"), [
    ("en", {"not_for_jury": "Entry No. {n} is not for the jury: only entries approved at "
                            "review are judged.",
            "later": "Some entries are still being reviewed: press the button again later.",
            "start": "Start judging", "done": "You have scored every entry",
            "entry": "Entry No. {n}<"}),
    ("ru", {"not_for_jury": "Работа № {n} не передаётся жюри: оцениваются только работы, "
                            "одобренные при проверке.",
            "later": "Часть работ ещё на проверке: нажмите кнопку позже ещё раз.",
            "start": "Начать оценку", "done": "Вы оценили все работы",
            "entry": "Работа № {n}<"}),
])
async def test_the_jury_sees_and_scores_only_entries_approved_at_the_last_tier(h, locale,
                                                                             words):
    cid = await new_challenge(h, "contest", content=("text",), tiers=("district", "regional"))
    for tg in (101, 102, 103, 104):
        await make_student(h, tg, org_name=f"School {tg}")
        await submit(h, tg, cid, f"entry of {tg}")
    await make_coordinator(h, 201, level="district")
    await make_coordinator(h, 202, level="regional")
    juror = await make_student(h, 301, region_code="astana", org_name="Jury", locale=locale)
    district, regional = h.user(201), h.user(202)
    for n in (1, 2):  # the district screens No. 1 and 2 ...
        await district.press(f"rv:ok:{n}:")
    await regional.press("rv:ok:1:")  # ... the region approves only No. 1 so far
    await district.press("rv:rej:4:")
    await district.click("Off topic")
    async with h.app.sessionmaker() as db:
        state = {sid: (status, stage) for sid, status, stage in (await db.execute(
            select(Submission.id, Submission.status, Submission.stage))).all()}
    assert state == {1: ("approved", "regional"), 2: ("pending", "regional"),
                     3: ("pending", "district"), 4: ("rejected", "district")}
    s = h.user(900)
    await s.send(f"/jury {cid}")
    await s.click("Criteria")
    await s.send("Идея | Идея | Idea")
    await s.click("Quorum")
    await s.send("1")
    await s.click("Add a juror")
    await s.send("301")
    assert "301: 0 / 1" in s.last_text()  # one entry to score: the approved one
    await h.drain()
    j = h.user(301)
    await j.click(words["start"])
    assert words["entry"].format(n=1) in j.last_text() and "entry of 101" in j.texts()[-2]
    await score_all(j, [7])
    # nothing else is approved yet: the juror is told to come back, with the button again
    assert words["later"] in j.last_text() and j.buttons() == [words["start"]]
    # old or forged score buttons for entries that did not pass review store nothing
    for n in (2, 3, 4):
        await j.press(f"ch:js:{n}:0_10")
        assert j.last_text() == words["not_for_jury"].format(n=n)
    assert await scores(h) == {(1, 0): 7}
    # No. 2 passes the last tier: now it is the juror's
    await regional.press("rv:ok:2:")
    await j.click(words["start"])
    assert words["entry"].format(n=2) in j.last_text() and "entry of 102" in j.texts()[-2]
    await score_all(j, [9])
    assert words["later"] in j.last_text()  # No. 3 still waits for the district
    await district.press("rv:rej:3:")
    await district.click("Off topic")
    await j.click(words["start"])
    assert words["done"] in j.last_text()
    await s.send(f"/jury {cid}")
    assert "301: 2 / 2" in s.last_text()
    # a score given to a pending entry before this rule (an old database) is not ranked
    async with h.app.sessionmaker() as db:
        db.add(JuryScore(submission_id=3, juror_id=juror.id, criterion=0, score=10,
                         at=h.app.now()))
        await db.commit()
    async with h.app.sessionmaker() as db:
        await svc.close(db, cid, None, h.app.now())
        await db.commit()
    await s.press(f"cha:jrank:{cid}:")
    ranking = s.last_text()
    assert "1. No. 2 — 9.00 (scores: 1) ✓\n2. No. 1 — 7.00 (scores: 1) ✓" in ranking
    assert "No. 3" not in ranking and "No. 4" not in ranking
    await s.click("Apply to places")
    await s.click("No diplomas")
    await s.click("✅ Apply")
    assert "saved for 2 entries" in s.texts()[-2]
    async with h.app.sessionmaker() as db:
        places = dict((await db.execute(select(Submission.id, Submission.place))).all())
    assert places == {1: "2", 2: "1", 3: None, 4: None}


async def test_every_change_to_the_jury_round_is_logged(h):
    cid = await new_challenge(h, "contest", content=("text",))
    staff = await staff_user(h)
    await make_student(h, 101)
    await submit(h, 101, cid, "my essay")
    juror = await make_student(h, 301, region_code="astana", org_name="Jury")
    s = h.user(900)
    await s.press("rv:ok:1:")
    await s.send(f"/jury {cid}")
    assert "Scores needed per entry: 3" in s.last_text()
    await s.click("Criteria")
    await s.send("Идея | Идея | Idea\nОрындалуы | Исполнение | Execution")
    await s.click("Quorum")
    await s.send("²")  # a digit to str.isdigit(), not to int(): no number, and it says so
    assert s.last_text() == "Please write numbers with the ordinary digits 0–9."
    for bad in ("0", "51", "two"):
        await s.send(bad)
        assert "number from 1 to 50" in s.last_text()
    await s.send("2")
    assert "Scores needed per entry: 2" in s.last_text()
    await s.click("Quorum")
    await s.send("2")  # the same again: nothing changes, nothing is logged
    for _ in range(2):  # adding someone already on the jury changes nothing
        await s.click("Add a juror")
        await s.send("301")
    await s.press(f"cha:jdel:{cid}:{staff.id}")  # a forged button: not a juror
    await h.drain()
    j = h.user(301)
    await j.click("Start judging")
    await score_all(j, [6, 8])
    await j.press("ch:js:1:0_6")  # an old button, the same score: no change
    await j.press("ch:js:1:0_9")  # an old button, another score
    assert await scores(h) == {(1, 0): 9, (1, 1): 8}
    await s.send(f"/jury {cid}")
    await s.click("➖ 301")
    await s.click("Yes, remove")
    assert "301" not in s.last_text()
    await s.press(f"cha:jdel:{cid}:{juror.id}")  # twice: removed once
    await s.press(f"cha:jcloseok:{cid}:")
    await s.press(f"cha:jcloseok:{cid}:")  # an old confirmation: closed once
    assert "The jury round is closed." in s.last_text()
    await s.press(f"cha:jopen:{cid}:")
    await s.press(f"cha:jopen:{cid}:")  # reopened once
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).jury_quorum == 2
    assert await logged(h, "jury_criteria", "jury_quorum", "jury_added", "jury_removed",
                        "jury_score", "jury_score_changed", "jury_closed",
                        "jury_reopened") == [
        ("jury_criteria", staff.id, {"count": 2}),
        ("jury_quorum", staff.id, {"before": 3, "after": 2}),
        ("jury_added", staff.id, {"juror": juror.id}),
        ("jury_score", juror.id, {"submission_id": 1}),
        ("jury_score_changed", juror.id, {"submission_id": 1, "criterion": 0, "before": 6,
                                          "after": 9}),
        ("jury_removed", staff.id, {"juror": juror.id}),
        ("jury_closed", staff.id, None),
        ("jury_reopened", staff.id, None),
    ]


async def jury_ready(h, juror_tg: int = 2001, juror_locale: str = "en") -> int:
    """A contest with one approved entry, one criterion, quorum 1; staff 900 speak Russian."""
    await make_staff(h, locale="ru")
    cid = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 101)
    await submit(h, 101, cid, "my essay")
    await make_student(h, juror_tg, region_code="astana", org_name="Jury",
                       locale=juror_locale)
    s = h.user(900)
    await s.press("rv:ok:1:")
    await s.send(f"/jury {cid}")
    await s.click("Критерии")
    await s.send("Идея | Идея | Idea")
    await s.click("Кворум")
    await s.send("1")
    return cid


async def round_closed(h, cid: int) -> bool:
    async with h.app.sessionmaker() as db:
        return (await db.get(Challenge, cid)).jury_closed_at is not None


async def test_closing_the_round_asks_first_and_staff_can_reopen_it(h):
    cid = await jury_ready(h)
    s, j = h.user(900), h.user(2001)
    await s.click("Добавить члена жюри")
    await s.send("2001")
    await h.drain()
    # one tap on «⏹ Закрыть этап» only asks, with what is at stake
    await s.click("⏹ Закрыть этап")
    assert s.last_text() == (
        "Закрыть этап оценки жюри «Мой класс»? Члены жюри больше не смогут ставить оценки. "
        "Оценок выставлено всеми членами жюри вместе: 0 из 1. Этап можно "
        "открыть снова, пока итоги не опубликованы.")
    assert s.buttons() == ["⏹ Да, закрыть этап", "✖️ Нет, оставить открытым"]
    assert not await round_closed(h, cid)
    await s.click("Нет, оставить открытым")
    assert s.last_text() == "Отменено: этап оценки жюри остаётся открытым."
    assert not await round_closed(h, cid)
    await j.click("Start judging")  # the juror still scores
    assert "Entry No. 1" in j.last_text()
    # confirmed: closed, and the panel offers to reopen instead of to close
    await s.send(f"/jury {cid}")
    await s.click("⏹ Закрыть этап")
    await s.click("Да, закрыть этап")
    panel = s.last_text()
    assert "Этап оценки жюри закрыт." in panel and "Итоги уже опубликованы." not in panel
    assert "▶️ Открыть этап снова" in s.buttons() and "⏹ Закрыть этап" not in s.buttons()
    await s.press(f"cha:jcloseno:{cid}:")  # an old "keep it open": it says how things are
    assert "Этап оценки жюри закрыт." in s.last_text()
    await j.press("ch:js:1:0_7")  # the button of the card shown before the round closed
    assert j.last_text() == "The jury round is closed."
    await j.click("Start judging")
    assert j.last_text() == "The jury round is closed."
    # reopened: the juror scores again; the scores so far stay
    await s.click("Открыть этап снова")
    assert s.texts()[-2] == "Этап оценки жюри снова открыт: члены жюри могут ставить оценки."
    assert "Этап оценки жюри закрыт." not in s.last_text()
    assert "⏹ Закрыть этап" in s.buttons()
    await j.click("Start judging")
    assert "Entry No. 1" in j.last_text()
    await score_all(j, [7])
    assert "You have scored every entry" in j.last_text()
    assert await scores(h) == {(1, 0): 7}
    # once the results are published the round never opens again
    await s.send(f"/jury {cid}")
    await s.click("⏹ Закрыть этап")
    assert "Оценок выставлено всеми членами жюри вместе: 1 из 1." in s.last_text()
    await s.click("Да, закрыть этап")
    async with h.app.sessionmaker() as db:
        await svc.close(db, cid, None, h.app.now())
        await svc.publish_results(db, h.app.challenge_notices, cid, None, h.app.now())
        await db.commit()
    for action in ("jopen", "jclose", "jcloseok", "jcloseno"):  # old buttons
        await s.press(f"cha:{action}:{cid}:")
        assert s.last_text() == "Итоги уже опубликованы.", action
    assert await round_closed(h, cid)
    kinds = [k for k, _u, _e in await logged(h, "jury_closed", "jury_reopened")]
    assert kinds == ["jury_closed", "jury_reopened", "jury_closed"]


async def test_a_removed_and_added_again_juror_is_invited_again_and_scores(h):
    await jury_ready(h, juror_locale="ru")
    s, j = h.user(900), h.user(2001)
    invitation = "⚖️ Вы в жюри «Мой класс»."

    def invitations() -> int:
        return sum(t.startswith(invitation) for t in j.texts())

    await s.click("Добавить члена жюри")
    await s.send("2001")
    await h.drain()
    assert invitations() == 1
    await s.click("➖ 2001")
    await s.click("Да, исключить")
    assert "2001" not in s.last_text()
    await s.click("Добавить члена жюри")
    await s.send("2001")
    assert (s.texts()[-2] == "2001 теперь в составе жюри и получит приглашение."
            and "2001: 0 / 1" in s.last_text())
    await h.drain()
    assert invitations() == 2 and j.buttons() == ["Начать оценку"]
    await j.click("Начать оценку")  # the button of the new invitation
    assert "Работа № 1<" in j.last_text()
    await score_all(j, [8])
    assert await scores(h) == {(1, 0): 8}
    # adding someone already on the jury says so and sends nothing more
    await s.click("Добавить члена жюри")
    await s.send("2001")
    assert s.last_text() == "2001 уже в составе этого жюри."
    await h.drain()
    assert invitations() == 2


async def test_a_juror_answer_that_names_nobody_is_told_why_and_the_prompt_stays(h):
    await jury_ready(h)
    s = h.user(900)
    await s.click("Добавить члена жюри")
    await s.send("abc")  # not a number: a part of a name
    assert s.last_text() == ("Среди зарегистрированных нет никого с «abc» в имени. Напишите "
                             "другую часть имени или @username либо выберите человека кнопкой.")
    await s.send("²")  # "²" is a digit to str.isdigit(), not to int()
    assert s.last_text() == "Пожалуйста, пишите числа обычными цифрами 0–9."
    await s.send("99999")  # a number, but nobody registered has it
    assert s.last_text().startswith("Нет зарегистрированного пользователя")
    await s.send("2001")  # the prompt stays open until a juror is added
    assert s.texts()[-2].startswith("2001 теперь в составе жюри")
    assert "2001: 0 / 1" in s.last_text()
    async with h.app.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(JuryMember)) == 1


async def test_a_juror_gets_back_to_the_entries_with_judge_without_the_invitation(h):
    await jury_ready(h, juror_locale="ru")
    s, j = h.user(900), h.user(2001)
    await j.send("/judge")
    assert j.last_text() == "Сейчас вы не входите в жюри ни одного конкурса."
    await s.click("Добавить члена жюри")
    await s.send("2001")
    await h.drain()
    assert ("Если это сообщение потеряется, вернуться к работам можно командой /judge."
            in j.last_text())
    await j.send("/judge")  # the invitation scrolled away
    assert j.last_text() == "Конкурсы, где вы в жюри:" and j.buttons() == ["⚖️ Мой класс"]
    await j.click("Мой класс")
    assert "Работа № 1<" in j.last_text()
    await score_all(j, [7])
    assert await scores(h) == {(1, 0): 7}
