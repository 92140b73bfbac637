"""Editing a challenge after creation: audience, nominations and age categories, content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.notices.challenges import challenges_tick
from bot.services import challenges as svc
from db.models import ActivityLog
from db.models.challenges import Challenge, ChallengeOption
from tests.factories import make_staff, make_student, place_ids
from tests.harness import BotHarness
from tests.test_challenges import new_challenge, staff_user

ESSAY = {"kk": "Эссе", "ru": "Эссе", "en": "Essay"}


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def challenge(h, cid: int) -> Challenge:
    async with h.app.sessionmaker() as s:
        return await s.get(Challenge, cid)


async def options(h, cid: int) -> list[tuple[str, str, str | None, str | None]]:
    async with h.app.sessionmaker() as s:
        rows = (await s.scalars(select(ChallengeOption).where(
            ChallengeOption.challenge_id == cid)
            .order_by(ChallengeOption.kind, ChallengeOption.sort))).all()
        return [(o.kind, o.name_kk, o.name_ru, o.name_en) for o in rows]


async def edits(h) -> list[dict]:
    async with h.app.sessionmaker() as s:
        return [row.extra for row in (await s.scalars(
            select(ActivityLog).where(ActivityLog.kind == "challenge_edited")
            .order_by(ActivityLog.id))).all()]


async def alert(h) -> str:
    return h.api.of("answerCallbackQuery")[-1].params.get("text") or ""


async def test_staff_edit_a_draft_contest_in_english(h):
    await staff_user(h)
    cid = await new_challenge(h, "contest", publish=False, content=("photo",),
                              nominations=[ESSAY])
    abai, _district = await place_ids(h, "abai", None)
    s = h.user(900)
    await s.send("/challenges")
    await s.click("No. 1")
    await s.click("Edit")
    assert {"👥 Audience", "📎 Accepted content", "🏷 Nominations", "🎚 Age categories"} <= set(
        s.buttons())
    # the audience, with the wizard's toggles
    await s.click("Audience")
    assert "Audience of No. 1" in s.last_text()
    await s.click("College")
    await s.click("Law and order")
    await s.click("Law and order")  # and off again
    assert "☑️ College" in s.buttons() and "▫️ Law and order" in s.buttons()
    await s.send("hello")
    assert "use the buttons" in s.last_text()
    await s.click("Next")
    await s.click("Abai Region")
    await s.click("Save")
    assert "Saved. Audience: College; Abai Region." in s.texts()[-2]
    assert "Announce" not in " ".join(s.texts()[-2:])  # a draft is announced when published
    assert (await challenge(h, cid)).audience == {"org_types": ["college"], "factions": [],
                                                  "region_ids": [abai]}
    # accepted content: an empty choice is refused for a contest
    await s.click("Edit")
    await s.click("Accepted content")
    await s.click("photo")
    await s.click("Save")
    assert "at least one kind" in await alert(h)
    await s.click("video")
    await s.click("text")
    await s.click("Save")
    assert "Saved." in s.texts()[-2] and "Accepted: video, text" in s.last_text()
    # nominations: add, rename, refuse a duplicate, remove
    await s.click("Edit")
    await s.click("Nominations")
    assert "1. Эссе | Эссе | Essay — entries: 0" in s.last_text()
    await s.click("Add")
    await s.send("Бейне | Видео | Video\nСурет | Рисунок")
    assert "2. Бейне | Видео | Video — entries: 0\n3. Сурет | Рисунок — entries: 0" \
        in s.last_text()
    await s.click("✏️ Essay")
    assert "<code>Эссе | Эссе | Essay</code>" in s.last_text()
    await s.send("Бейне | Видео")
    assert "already one with this name" in s.last_text()
    await s.send("Эссе\nБаяндама")
    assert "Type one line" in s.last_text()
    await s.send("Эссе | Эссе | Essay writing")
    assert "1. Эссе | Эссе | Essay writing" in s.last_text()
    await s.click("🗑 Рисунок")  # no English name: the Russian one is shown
    assert "Removed: “Рисунок”." in s.texts()[-2]
    await s.click("Back")  # to the management card
    await s.click("Edit")
    await s.click("Age categories")
    await s.click("Add")
    await s.send("7–9 сынып | 7–9 классы | Grades 7–9")
    assert await options(h, cid) == [
        ("category", "7–9 сынып", "7–9 классы", "Grades 7–9"),
        ("nomination", "Эссе", "Эссе", "Essay writing"),
        ("nomination", "Бейне", "Видео", "Video")]
    logged = await edits(h)
    assert [e["field"] for e in logged] == ["audience", "content_kinds", "nomination",
                                            "nomination", "nomination", "category"]
    assert [e.get("action") for e in logged[2:]] == ["add", "rename", "remove", "add"]
    assert logged[0]["before"] == {"org_types": [], "factions": [], "region_ids": []}
    assert logged[1] == {"field": "content_kinds", "before": ["photo"],
                         "after": ["video", "text"]}
    assert logged[3]["before"]["en"] == "Essay" and logged[3]["after"]["en"] == "Essay writing"


async def test_an_action_may_accept_nothing_and_has_no_nominations(h):
    await staff_user(h)
    cid = await new_challenge(h, "action", content=("photo",))
    s = h.user(900)
    await s.press(f"cha:edit:{cid}:")
    assert "🏷 Nominations" not in s.buttons()
    await s.click("Accepted content")
    assert "joining is the participation" in s.last_text()
    await s.click("photo")
    await s.click("Save")
    assert (await challenge(h, cid)).content_kinds == []
    await s.press(f"cha:eopt:{cid}:nomination")
    assert "Only a contest has nominations" in s.last_text()
    await s.press(f"cha:eck:{cid}:")
    await s.click("Save")
    assert "Nothing changed." in s.texts()[-2]


@pytest.mark.parametrize(("locale", "words"), [
    ("ru", {"edit": "Изменить", "audience": "Аудитория", "college": "Колледж",
            "next": "Далее", "save": "Сохранить", "saved": "Сохранено. Аудитория: Школа, Колледж.",
            "announce": "Сообщить им", "queued": "Объявление отправляется ещё 1 получателю.",
            "again": "Все в аудитории уже получили объявление.",
            "in_use": "Это нельзя удалить: к нему относится 1 работа.",
            "judged": "Итоги уже опубликованы.", "closed": "№ 2 закрыт.",
            "new": "Новый конкурс"}),
    ("kk", {"edit": "Өзгерту", "audience": "Аудитория", "college": "Колледж",
            "next": "Әрі қарай", "save": "Сақтау",
            "saved": "Сақталды. Аудитория: Мектеп, Колледж.", "announce": "Оларға хабарлау",
            "queued": "Хабарландыру тағы 1 адамға жіберілуде.",
            "again": "Аудиториядағылардың бәрі хабарландыруды алып қойған.",
            "in_use": "Бұл нұсқаны жоюға болмайды: онда 1 жұмыс бар.",
            "judged": "Қорытынды бұрын жарияланған.", "closed": "№ 2 жабылған.",
            "new": "Жаңа байқау"}),
])
async def test_open_challenge_widened_audience_and_refusals(h, clock, locale, words):
    await make_staff(h, locale=locale)
    await make_student(h, 101, locale=locale)
    await make_student(h, 102, locale=locale, org_type="college", org_name="College No. 1")
    cid = await new_challenge(h, "contest", content=("text",), nominations=[ESSAY],
                              audience={"org_types": ["school"]})
    await h.drain()
    assert h.api.texts(102) == []  # not in the audience at first
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    async with h.app.sessionmaker() as db:
        essay = (await svc.get_options(db, cid))[0][0].id
    await u.press(f"ch:nom:{cid}:{essay}")
    await u.send("my essay")
    await u.press(f"ch:ok:{cid}:")
    s = h.user(900)
    await s.press(f"cha:man:{cid}:")
    await s.click(words["edit"])
    await s.click(words["audience"])
    await s.click(words["college"])
    await s.click(words["next"])
    await s.click(words["save"])
    assert words["saved"] in s.texts()[-2]
    await s.click(words["announce"])
    assert words["queued"] in s.last_text()
    await h.drain()
    assert any(words["new"].lower() in t.lower() for t in h.api.texts(102))
    await s.click(words["announce"])  # nobody gets it twice
    assert words["again"] in s.last_text()
    # a nomination that an entry uses is not removed
    await s.press(f"cha:odel:{cid}:{essay}")
    assert words["in_use"] in s.last_text()
    async with h.app.sessionmaker() as db:
        assert await db.get(ChallengeOption, essay) is not None
    # another challenge, closed, then with its results published
    other = await new_challenge(h, "contest", content=("text",), days=1)
    clock.advance(days=2)
    await challenges_tick(h.app)
    for data in (f"cha:eaud:{other}:", f"cha:eck:{other}:", f"cha:eopt:{other}:category"):
        await s.press(data)
        assert words["closed"] in s.last_text()
    await s.press(f"cha:res:{other}:")
    for data in (f"cha:eaud:{other}:", f"cha:oadd:{other}:nomination"):
        await s.press(data)
        assert words["judged"] in s.last_text()
    before = await edits(h)
    student = h.user(101)
    for data in (f"cha:eaud:{cid}:", f"cha:eopt:{cid}:nomination", f"cha:odel:{cid}:{essay}",
                 f"cha:eck:{cid}:", f"cha:ean:{cid}:"):
        await student.press(data)
        assert h.api.of("answerCallbackQuery")[-1].params["text"] in (
            "Извините, эта кнопка вам недоступна.",
            "Кешіріңіз, бұл батырма сізге қолжетімді емес.")
    assert await edits(h) == before
    assert len(before) == 1 and before[0]["after"]["org_types"] == ["school", "college"]
    async with h.app.sessionmaker() as db:
        announced = (await db.scalars(select(ActivityLog).where(
            ActivityLog.kind == "challenge_announced"))).all()
        assert [a.extra["queued"] for a in announced] == [1, 0]


async def test_forged_option_buttons(h):
    await staff_user(h)
    cid = await new_challenge(h, "contest", nominations=[ESSAY])
    other = await new_challenge(h, "contest", nominations=[{"kk": "Басқа"}])
    s = h.user(900)
    async with h.app.sessionmaker() as db:
        foreign = (await svc.get_options(db, other))[0][0].id
    for data in (f"cha:odel:{cid}:{foreign}", f"cha:oren:{cid}:{foreign}", f"cha:odel:{cid}:x",
                 f"cha:eopt:{cid}:nonsense", "cha:eaud:999:"):
        await s.press(data)
        assert "Not found" in s.last_text() or "cannot be changed" in s.last_text()
    assert len(await options(h, other)) == 1
    await s.press(f"cha:eaud:{cid}:")
    await s.press("cha:eat:0:o.spaceship")  # an unknown value changes nothing
    await s.press("cha:ert:0:999999")
    await s.click("Next")
    await s.click("Save")
    assert "Nothing changed." in s.texts()[-2]
    await s.press(f"cha:oadd:{cid}:nomination")
    await s.send("\n".join(f"Номинация {n}" for n in range(30)))
    assert "At most 30 lines" in s.last_text()
    await s.send("/cancel")
    assert len(await options(h, cid)) == 1
