"""Old or forged staff buttons: titles and limits change only while a challenge is a draft or
open, and the creation wizard stores only the organisation types, factions and regions it
offers."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.notices.challenges import challenges_tick
from bot.services import challenges as svc
from bot.services.errors import DomainError
from db.models import ActivityLog
from tests.factories import make_staff, place_ids
from tests.harness import BotHarness
from tests.test_challenges import new_challenge, staff_user
from tests.test_challenges_edit import challenge


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def edits(h) -> list[dict]:
    async with h.app.sessionmaker() as s:
        return [row.extra for row in (await s.scalars(
            select(ActivityLog).where(ActivityLog.kind == "challenge_edited")
            .order_by(ActivityLog.id))).all()]


@pytest.mark.parametrize(("locale", "words"), [
    ("en", {"prompt": "Type the new value", "saved": "Saved.",
            "closed": "No. 1 is closed. To change this, extend the deadline first",
            "judged": "The results are already published."}),
    ("ru", {"prompt": "Введите новое значение", "saved": "Сохранено.",
            "closed": "№ 1 закрыт. Чтобы это изменить, сначала продлите срок подачи",
            "judged": "Итоги уже опубликованы."}),
    ("kk", {"prompt": "жаңа мәнді жазыңыз", "saved": "Сақталды.",
            "closed": "№ 1 жабылған. Мұны өзгерту үшін алдымен соңғы мерзімді ұзартыңыз",
            "judged": "Қорытынды бұрын жарияланған."}),
])
async def test_titles_and_limits_change_only_while_draft_or_open(h, clock, locale, words):
    await make_staff(h, locale=locale)
    cid = await new_challenge(h, "contest", content=("text",), days=1)
    s = h.user(900)
    await s.press(f"cha:editf:{cid}:title_en")
    assert words["prompt"] in s.last_text()
    await s.send("Best class")
    assert words["saved"] in s.texts()[-2]
    # a prompt answered after the deadline closed the challenge is refused
    await s.press(f"cha:editf:{cid}:title_kk")
    assert words["prompt"] in s.last_text()
    clock.advance(days=2)
    await challenges_tick(h.app)
    assert (await challenge(h, cid)).status == "closed"
    await s.send("Жалған атау")
    assert words["closed"] in s.last_text()
    await s.send("Жалған атау")  # the flow has ended: nothing is waiting for a value
    assert (await challenge(h, cid)).title_kk == "Менің сыныбым"
    # old buttons of the edit menu are refused at once, not after typing the value
    for data in (f"cha:edit:{cid}:", f"cha:editf:{cid}:max_submissions"):
        await s.press(data)
        assert words["closed"] in s.last_text()
    # once the results are published, nothing changes any more
    await s.press(f"cha:res:{cid}:")
    assert (await challenge(h, cid)).status == "judged"
    for data in (f"cha:edit:{cid}:", f"cha:editf:{cid}:title_ru",
                 f"cha:editf:{cid}:description_en"):
        await s.press(data)
        assert words["judged"] in s.last_text()
    # the service refuses too, whatever calls it
    staff = await staff_user(h)
    async with h.app.sessionmaker() as db:
        with pytest.raises(DomainError) as refused:
            await svc.edit_field(db, cid, "max_submissions", "5", staff)
        assert refused.value.code == "already_judged"
    c = await challenge(h, cid)
    assert (c.title_kk, c.title_ru, c.title_en, c.description_en, c.max_submissions) == (
        "Менің сыныбым", "Мой класс", "Best class", "Description", 1)
    assert await edits(h) == [{"field": "title_en"}]


async def test_a_closed_challenge_is_editable_again_after_extending(h, clock):
    await staff_user(h)
    cid = await new_challenge(h, content=("text",), days=1)
    clock.advance(days=2)
    await challenges_tick(h.app)
    s = h.user(900)
    await s.press(f"cha:editf:{cid}:max_submissions")
    assert "is closed" in s.last_text()
    await s.press(f"cha:ext:{cid}:")
    await s.send("25.03.2026 18:00")
    assert (await challenge(h, cid)).status == "open"
    await s.press(f"cha:editf:{cid}:max_submissions")
    await s.send("3")
    assert "Saved." in s.texts()[-2]
    assert (await challenge(h, cid)).max_submissions == 3


async def test_wizard_ignores_forged_audience_and_region_buttons(h):
    await staff_user(h)
    abai, _district = await place_ids(h, "abai", None)
    s = h.user(900)
    await s.send("/newchallenge")
    await s.click("Challenge")
    for text in ("Атау", "Название", "Title", "Сипаттама", "Описание", "Description"):
        await s.send(text)
    assert "Who may take part" in s.last_text()
    # an unknown organisation type or faction, or another prefix: nothing is stored
    for arg in ("o.spaceship", "f.pirates", "o.", "x.school", "school", "o.school.x"):
        await s.press(f"cha:aud:0:{arg}")
    await s.click("College")
    await s.click("Care (volunteering)")
    assert "☑️ College" in s.buttons() and "☑️ Care (volunteering)" in s.buttons()
    assert len(s.buttons()) == 3 + 4 + 1  # organisation types, factions, Next
    await s.click("Next")
    assert "Which regions" in s.last_text()
    # an unknown region id, a digit int() does not read, a negative, a name: ignored
    for arg in ("999999", "²", "-1", "0", "abai"):
        await s.press(f"cha:reg:0:{arg}")
    assert "went wrong" not in " ".join(s.texts()[-3:]).lower()
    await s.click("Abai Region")
    await s.click("Next")
    await s.click("Now")
    await s.send("12.03.2026 18:00")
    await s.click("text")
    await s.click("Next")
    await s.send("1")
    await s.click("Skip")
    preview = s.last_text()
    assert "Audience: College; Care (volunteering); Abai Region" in preview
    await s.click("Save as draft")
    assert "Saved as draft No. 1" in s.last_text()
    assert (await challenge(h, 1)).audience == {
        "org_types": ["college"], "factions": ["care"], "region_ids": [abai]}


def test_options_and_dates_as_staff_type_them():
    assert svc.parse_options("Поэзия | Поэзия\n\n Проза | Проза | Prose ") == [
        {"kk": "Поэзия", "ru": "Поэзия"}, {"kk": "Проза", "ru": "Проза", "en": "Prose"}]
    for text, code in (("Поэзия\nпоэзия", "option_twice"), ("Поэзия\n | Драма", "option_no_kk")):
        with pytest.raises(DomainError) as caught:
            svc.parse_options(text)
        assert caught.value.code == code
    tz = ZoneInfo("Asia/Almaty")
    assert svc.parse_local_time("2026-12-20 18:00", tz) == svc.parse_local_time(
        "20.12.2026 18:00", tz)  # the webinar wizard's form works here too
    assert svc.parse_local_time("2026-12-20", tz, end_of_day=True).hour == 18  # 23:59 Almaty
