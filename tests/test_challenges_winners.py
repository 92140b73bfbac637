"""Winners by hand and the jury after the results: only approved entries get a place (a batch
with any other is refused whole), a cleared place is logged, results are published once, and
the jury of a judged contest or of a non-contest does not change."""

from __future__ import annotations

import io

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.services import activity, reports
from bot.services import challenges as svc
from bot.services import stats as st
from bot.services.personal_data import erase_user
from db.models import Delivery, User
from db.models.challenges import Challenge, JuryMember, JuryScore, Submission
from tests.factories import make_staff, make_student, score_offered
from tests.harness import BotHarness
from tests.test_challenges import new_challenge, score_all
from tests.test_challenges_jury import logged


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def places(h) -> dict[int, str | None]:
    async with h.app.sessionmaker() as s:
        return dict((await s.execute(select(Submission.id, Submission.place))).all())


async def submit(h, tg: int, cid: int, text: str) -> None:
    u = h.user(tg)
    await u.press(f"ch:submit:{cid}:")
    await u.send(text)
    await u.click("Send without a comment")


async def close(h, cid: int) -> None:
    async with h.app.sessionmaker() as s:
        await svc.close(s, cid, None, h.app.now())
        await s.commit()


async def four_entries(h, cid: int) -> None:
    """No. 1 approved, No. 2 waiting for review, No. 3 rejected, No. 4 withdrawn."""
    for tg in (101, 102, 103, 104):
        await make_student(h, tg, org_name=f"School {tg}")
        await submit(h, tg, cid, f"entry of {tg}")
    staff = h.user(900)
    await staff.press("rv:ok:1:")
    await staff.press("rv:why:3:off_topic")
    await h.user(104).press("ch:wdok:4:")


@pytest.mark.parametrize(("locale", "words"), [
    ("en", {"not_approved": "Only approved entries can get a place. Not approved (still "
                            "waiting for review, rejected or withdrawn): No. {numbers}. "
                            "Nothing was saved.",
            "unknown": "There is no entry No. {numbers} in this challenge. Nothing was saved.",
            "approved": "Approved entries:", "saved": "Saved the place for {n} entry.",
            "twice": "No. {numbers} is on more than one line: give each entry one place. "
                     "Nothing was saved."}),
    ("ru", {"not_approved": "Место можно дать только одобренной работе. Не одобрены (ещё ждут "
                            "проверки, отклонены или отозваны): № {numbers}. Ничего не "
                            "сохранено.",
            "unknown": "Здесь нет работы № {numbers}. Ничего не сохранено.",
            "approved": "Одобренные работы:", "saved": "Места сохранены для {n} работы.",
            "twice": "№ {numbers} указан в нескольких строках: дайте каждой работе одно место. "
                     "Ничего не сохранено."}),
    ("kk", {"not_approved": "Орын тек мақұлданған жұмыстарға беріледі. № {numbers} жұмыс "
                            "мақұлданбаған (тексеруді күтуде, қабылданбаған немесе қайтарып "
                            "алынған). Ештеңе сақталмады.",
            "unknown": "Бұл жерде № {numbers} жұмыс жоқ. Ештеңе сақталмады.",
            "approved": "Мақұлданған жұмыстар:", "saved": "{n} жұмыстың орны сақталды.",
            "twice": "№ {numbers} бірнеше жолда тұр: әр жұмысқа бір ғана орын беріңіз. "
                     "Ештеңе сақталмады."}),
])
async def test_only_approved_entries_get_a_place_and_a_refused_batch_stores_nothing(
        h, locale, words):
    staff = await make_staff(h, locale=locale)
    cid = await new_challenge(h, "contest", content=("text",))
    other = await new_challenge(h, "contest", content=("text",))
    await four_entries(h, cid)
    await make_student(h, 105)
    await submit(h, 105, other, "entry of another contest")  # No. 5
    await h.user(900).press("rv:ok:5:")
    await close(h, cid)
    s = h.user(900)
    await s.press(f"cha:win:{cid}:")
    listed = s.last_text()
    assert words["approved"] in listed and "1 · " in listed
    assert all(f"{n} · " not in listed for n in (2, 3, 4, 5))  # the list: approved only
    # one approved and three that are not: the whole message is refused, every number named
    await s.send("1 1\n2 2\n3 3\n4 diploma")
    assert s.last_text() == words["not_approved"].format(numbers="2, 3, 4")
    await s.send("4 gp\n1 1")
    assert s.last_text() == words["not_approved"].format(numbers="4")
    # unknown numbers (and another contest's entry) are refused the same way, all named
    await s.send("1 1\n9 2\n5 3\n2 d")
    assert s.last_text() == words["unknown"].format(numbers="5, 9")
    assert await places(h) == {1: None, 2: None, 3: None, 4: None, 5: None}
    assert await logged(h, "winner", "winner_cleared") == []
    # the same entry on two lines: which place was meant? refused, nothing saved
    await s.send("1 1\n1 2")
    assert s.last_text() == words["twice"].format(numbers="1")
    assert await places(h) == {1: None, 2: None, 3: None, 4: None, 5: None}
    # still asked for the list: the corrected one is saved
    await s.send("1 1")
    assert s.texts()[-2] == words["saved"].format(n=1)
    assert await places(h) == {1: "1", 2: None, 3: None, 4: None, 5: None}
    participant = await session_user_id(h, 101)
    assert await logged(h, "winner", "winner_cleared") == [
        ("winner", participant, {"submission_id": 1, "place": "1"})]
    # clearing a place by hand is logged too (by the staff member: not a win, not activity)
    await s.press(f"cha:win:{cid}:")
    await s.send("1 -")
    assert await places(h) == {1: None, 2: None, 3: None, 4: None, 5: None}
    await s.press(f"cha:win:{cid}:")
    await s.send("1 -")  # nothing to clear: nothing logged
    assert await logged(h, "winner", "winner_cleared") == [
        ("winner", participant, {"submission_id": 1, "place": "1"}),
        ("winner_cleared", staff.id, {"submission_id": 1, "before": "1",
                                      "participant": participant})]


async def test_a_changed_place_counts_one_winner_in_the_statistics(h):
    staff = await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await four_entries(h, cid)
    await close(h, cid)
    s = h.user(900)
    for line in ("1 3", "1 1"):  # third place first, then first place
        await s.press(f"cha:win:{cid}:")
        await s.send(line)
    participant = await session_user_id(h, 101)
    assert await logged(h, "winner", "winner_changed") == [
        ("winner", participant, {"submission_id": 1, "place": "3"}),
        ("winner_changed", staff.id, {"submission_id": 1, "before": "3", "place": "1",
                                      "participant": participant})]
    # /stats and /leaderboard count "winner" rows: one per entry that became a winner


async def session_user_id(h, tg: int) -> int:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User.id).where(User.tg_id == tg))


async def test_a_place_left_on_an_entry_that_is_not_approved_can_be_cleared_not_announced(h):
    """An older database may hold a place on an entry that was never approved: it is not
    announced as a win, and clearing it is allowed (and logged)."""
    staff = await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await four_entries(h, cid)
    await close(h, cid)
    async with h.app.sessionmaker() as db:
        (await db.get(Submission, 2)).place = "1"
        await db.commit()
    s = h.user(900)
    await s.press(f"cha:win:{cid}:")
    await s.send("2 -\n1 3")
    assert "Saved places for 2 entries." in s.texts()[-2]
    assert await places(h) == {1: "3", 2: None, 3: None, 4: None}
    assert (await logged(h, "winner_cleared"))[0][1:] == (
        staff.id, {"submission_id": 2, "before": "1",
                   "participant": await session_user_id(h, 102)})
    async with h.app.sessionmaker() as db:
        (await db.get(Submission, 2)).place = "1"  # and once more, as if never cleared
        await db.commit()
    await s.press(f"cha:res:{cid}:")
    await h.drain()
    assert "you won <b>3rd place</b>" in h.api.texts(101)[-1]
    assert "Thank you for taking part" in h.api.texts(102)[-1]  # pending: not a winner


async def test_results_are_published_once(h):
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await four_entries(h, cid)
    s = h.user(900)
    await s.press(f"cha:res:{cid}:")
    assert s.last_text() == "Close the challenge first."
    await close(h, cid)
    await s.press(f"cha:win:{cid}:")
    await s.send("1 gp")
    await s.press(f"cha:res:{cid}:")
    assert "Results are published; 4 participants will get a message." in s.last_text()
    async with h.app.sessionmaker() as db:
        published_at = (await db.get(Challenge, cid)).results_at
    assert published_at is not None
    await s.press(f"cha:res:{cid}:")  # an old button
    assert s.last_text() == "The results are already published."
    await h.drain()
    async with h.app.sessionmaker() as db:
        challenge = await db.get(Challenge, cid)
        assert (challenge.status, challenge.results_at) == ("judged", published_at)
        results = (await db.scalars(select(Delivery.dedup_key).where(
            Delivery.source_type == "challenge", Delivery.source_id == cid))).all()
    assert len([key for key in results if "results" in key]) == 4
    assert len(await logged(h, "challenge_results")) == 1
    assert "Grand Prix" in h.api.texts(101)[-1]


async def jury_contest(h) -> tuple[int, int]:
    """A closed contest with one criterion, one juror (301) and one approved entry, the
    juror's prompt for criteria still open; returns (challenge id, juror's user id)."""
    cid = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 101)
    await submit(h, 101, cid, "essay")
    juror = await make_student(h, 301, region_code="astana", org_name="Jury")
    s = h.user(900)
    await s.press("rv:ok:1:")
    await s.press(f"cha:jcrit:{cid}:")
    await s.send("Идея | Идея | Idea\nОрындалуы | Исполнение | Execution")
    await s.press(f"cha:jq:{cid}:")
    await s.send("1")
    await s.press(f"cha:jadd:{cid}:")
    await s.send("301")
    await h.drain()
    await h.user(301).click("Start judging")
    await score_all(h.user(301), [5])  # the first criterion of two
    await close(h, cid)
    return cid, juror.id


@pytest.mark.parametrize(("locale", "words"), [
    ("en", {"judged": "The results are already published.",
            "closed": "The jury round is closed.", "only": "Only a contest has a jury."}),
    ("ru", {"judged": "Итоги уже опубликованы.", "closed": "Этап оценки жюри закрыт.",
            "only": "Жюри есть только у конкурса."}),
    ("kk", {"judged": "Қорытынды бұрын жарияланған.",
            "closed": "Қазылар алқасының бағалау кезеңі жабылды.",
            "only": "Қазылар алқасы тек байқауда болады."}),
])
async def test_the_jury_does_not_change_after_the_results(h, locale, words):
    await make_staff(h, locale=locale)
    cid, juror_id = await jury_contest(h)
    s = h.user(900)
    await s.press(f"cha:win:{cid}:")
    await s.send("1 1")
    await s.press(f"cha:res:{cid}:")
    await s.press(f"cha:win:{cid}:")  # announced to everyone: the places are final too
    assert s.last_text() == words["judged"]
    await s.press(f"cha:jq:{cid}:")
    assert s.last_text() == words["judged"]  # refused before asking
    await s.press(f"cha:jadd:{cid}:")
    assert s.last_text() == words["judged"]
    await s.send(f"/jury {cid}")
    panel = s.last_text()
    assert words["closed"] in panel and words["judged"] in panel
    assert s.buttons() == ["🏅 Рейтинг" if locale != "en" else "🏅 Ranking"]
    # old or forged buttons of the panel change nothing
    await s.press(f"cha:jdel:{cid}:{juror_id}")
    assert s.last_text() == words["judged"]
    await s.press(f"cha:jclose:{cid}:")
    assert s.last_text() == words["judged"]
    await s.press(f"cha:jcrit:{cid}:")
    assert s.last_text() == words["judged"]
    j = h.user(301)
    await j.click("Start judging")
    assert j.last_text() == "The jury round is closed."  # the juror's own language (en)
    await j.press("ch:js:1:1_9")
    assert j.last_text() == "The jury round is closed."
    async with h.app.sessionmaker() as db:
        challenge = await db.get(Challenge, cid)
        assert len(challenge.jury_criteria) == 2 and challenge.jury_quorum == 1
        assert challenge.jury_closed_at is None
        assert (await db.scalars(select(JuryMember.user_id))).all() == [juror_id]
        assert (await db.scalars(select(JuryScore.score))).all() == [5]
    kinds = [k for k, _u, _e in await logged(
        h, "jury_criteria", "jury_quorum", "jury_added", "jury_removed", "jury_closed")]
    assert kinds == ["jury_criteria", "jury_quorum", "jury_added"]  # all before the results


async def test_the_jury_prompt_answered_after_the_results_is_refused(h):
    await make_staff(h, locale="ru")
    cid, _juror = await jury_contest(h)
    s = h.user(900)
    await s.press(f"cha:jq:{cid}:")  # asked while the contest was only closed
    async with h.app.sessionmaker() as db:
        await svc.publish_results(db, h.app.challenge_notices, cid, None, h.app.now())
        await db.commit()
    await s.send("3")
    assert s.last_text() == "Итоги уже опубликованы."
    await s.send("4")  # the flow has ended: not taken as a quorum again
    assert s.last_text() != "Итоги уже опубликованы."
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).jury_quorum == 1
    assert len(await logged(h, "jury_quorum")) == 1


@pytest.mark.parametrize("kind", ["challenge", "action"])
async def test_only_a_contest_has_a_jury(h, kind):
    staff = await make_staff(h, locale="ru")
    cid = await new_challenge(h, kind, content=("text",) if kind == "challenge" else ())
    await make_student(h, 301, region_code="astana", org_name="Jury")
    s = h.user(900)
    await s.send("/jury")
    assert f"{cid} · " not in " ".join(s.buttons())  # not offered in the list
    await s.send(f"/jury {cid}")
    assert s.last_text() == "Жюри есть только у конкурса."
    assert s.buttons() == []
    for action in ("jcrit", "jq", "jadd", "jclose", "jury"):  # old or forged buttons
        await s.press(f"cha:{action}:{cid}:")
        assert s.last_text() == "Жюри есть только у конкурса.", action
    await s.press(f"cha:jdel:{cid}:{staff.id}")
    assert s.last_text() == "Жюри есть только у конкурса."
    await s.send("301")  # no prompt was opened
    async with h.app.sessionmaker() as db:
        challenge = await db.get(Challenge, cid)
        assert not challenge.jury_criteria and challenge.jury_closed_at is None
        assert (await db.scalars(select(JuryMember.id))).all() == []
    assert await logged(h, "jury_criteria", "jury_quorum", "jury_added", "jury_removed",
                        "jury_closed") == []


async def test_a_cleared_place_counts_nowhere_and_a_changed_place_once(h, clock, monkeypatch):
    """QA's case: places 1, 2, 3 from the jury ranking for Nos. 2, 3, 4, then by hand
    "2 gp / 3 diploma / 4 -". The card, /stats, /leaderboard, the XLSX and the DOCX all
    count two winners, and the participant of No. 4 keeps no winner points."""
    monkeypatch.setattr(activity, "utcnow", clock)  # the log on the test's clock
    await make_staff(h, locale="ru")
    cid = await new_challenge(h, "contest", content=("text",))
    for tg in (101, 102, 103, 104):
        await make_student(h, tg, org_name=f"School {tg}")
        await submit(h, tg, cid, f"entry of {tg}")
    await h.user(101).press("ch:wdok:1:")  # No. 1 withdrawn; Nos. 2, 3, 4 approved
    s = h.user(900)
    for n in (2, 3, 4):
        await s.press(f"rv:ok:{n}:")
    juror = await make_student(h, 301, region_code="astana", org_name="Jury")
    async with h.app.sessionmaker() as db:
        challenge = await db.get(Challenge, cid)
        challenge.jury_criteria = [{"kk": "Идея", "ru": "Идея", "en": "Idea"}]
        challenge.jury_quorum = 1
        db.add(JuryMember(challenge_id=cid, user_id=juror.id, added_at=h.app.now()))
        await db.flush()
        for n, value in ((2, 9), (3, 8), (4, 7)):
            await score_offered(db, n, juror.id, 0, value, h.app.now())
        await db.commit()
    await close(h, cid)
    await s.send(f"/jury {cid}")
    await s.click("Рейтинг")
    await s.click("Применить к местам")
    await s.click("Без дипломов")
    await s.click("✅ Применить")
    assert await places(h) == {1: None, 2: "1", 3: "2", 4: "3"}
    await s.press(f"cha:win:{cid}:")  # /challenges → No. 1 → «Отметить победителей»
    await s.send("2 gp\n3 diploma\n4 -")
    assert await places(h) == {1: None, 2: "grand_prix", 3: "diploma", 4: None}
    assert "Победители: 2" in s.last_text()  # the management card
    # /stats: two winners (one per entry still placed; the changed places count once)
    await s.send("/stats week")
    assert "Победители: <b>2</b>" in h.api.of("sendMessage", 900)[-1].params["text"]
    tz = h.app.settings.tz
    async with h.app.sessionmaker() as db:
        week = st.parse_period("week", h.app.now(), tz)
        assert (await st.collect(db, week, st.Scope())).current["winners"] == 2
        board = await st.leaderboard(db, st.Scope(), st.parse_period("year", h.app.now(), tz))
        by_challenge = await st.leaderboard(db, st.Scope(), challenge_id=cid)
    # joined 1 + entry 2 + approved 3 (+ winner 10); No. 1's author: joined + entry
    expected = [("School 102", 16), ("School 103", 16), ("School 104", 6), ("School 101", 3)]
    assert [(r.key[2], r.points) for r in board.boards["orgs"]] == expected
    assert [(r.key[2], r.points) for r in by_challenge.boards["orgs"]] == expected
    # the XLSX: the summary and the contest's row
    await s.send("/export_stats week")
    wb = load_workbook(io.BytesIO(h.api.of("sendDocument", 900)[-1].files["document"]))
    summary = {r[0]: r[1] for r in wb.worksheets[0].iter_rows(min_row=4, values_only=True)}
    assert [v for k, v in summary.items() if k and k.endswith(": Победители")] == [2]
    (row,) = wb.worksheets[3].iter_rows(min_row=2, values_only=True)
    assert row[0] == cid and row[-1] == 2
    # the DOCX: the summary table and the table of contests agree
    await s.send("/report 2026")
    doc = Document(io.BytesIO(h.api.of("sendDocument", 900)[-1].files["document"]))
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in doc.tables]
    totals = {r[0]: r[1:] for r in tables[0]}
    assert [v[0] for k, v in totals.items() if k.endswith(": Победители")] == ["2"]
    assert tables[3][1][-1] == "2"


async def test_a_win_counts_once_in_the_week_it_was_last_awarded(h, clock, monkeypatch):
    """Given, cleared a week later, given again a week after: one win, in the third week;
    earlier weeks show none. An erased winner still counts."""
    monkeypatch.setattr(activity, "utcnow", clock)  # the log on the test's clock
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await four_entries(h, cid)  # No. 1 approved
    await close(h, cid)
    s = h.user(900)
    tz = h.app.settings.tz
    weeks = []
    for line in ("1 1", "1 -", "1 diploma", "1 2"):
        await s.press(f"cha:win:{cid}:")
        await s.send(line)
        weeks.append(st.parse_period("week", h.app.now(), tz))
        clock.advance(days=7)
    weeks.pop()  # "1 2" changed the place within the third week
    year = st.parse_period("2026", h.app.now(), tz)
    async with h.app.sessionmaker() as db:  # (erasure takes the school's name away)
        board = await st.leaderboard(db, st.Scope(), year)
    assert dict((r.key[2], r.points) for r in board.boards["orgs"])["School 101"] == 16
    async with h.app.sessionmaker() as db:  # /deleteme: the winner rows lose their details
        winner = await db.scalar(select(User).where(User.tg_id == 101))
        await erase_user(db, h.app.users, winner, h.app.now())
        await db.commit()
    async with h.app.sessionmaker() as db:
        got = [(await st.collect(db, w, st.Scope(), with_trend=False)).current["winners"]
               for w in weeks]
        total = (await st.collect(db, year, st.Scope(), with_trend=False)).current["winners"]
        rows = await reports.challenge_rows(db, year, st.Scope(), "en")
    assert got == [0, 0, 1] and total == 1
    assert [(r.id, r.winners) for r in rows] == [(cid, 1)]
