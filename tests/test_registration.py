"""Registration scenarios, in each language, with every validation error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import ActivityLog, FsmRecord, User


async def register_student(u, lang_button: str = "English", district: str = "Semey") -> None:
    await u.send("/start")
    await u.click(lang_button)
    await u.click({"English": "Parliament member", "Русский": "Член парламента",
                   "Қазақша": "Парламент мүшесі"}[lang_button])
    await u.click({"English": "School", "Русский": "Школа", "Қазақша": "Мектеп"}[lang_button])
    await u.click({"English": "Abai Region", "Русский": "область Абай",
                   "Қазақша": "Абай облысы"}[lang_button])
    await u.click(district)
    await u.send("School No. 7")
    await u.click({"English": "Happiness", "Русский": "Счастье", "Қазақша": "Бақыт"}[lang_button])
    await u.click({"English": "Faction leader", "Русский": "Лидер фракции",
                   "Қазақша": "Фракция жетекшісі"}[lang_button])
    await u.send("9")
    await u.click("16–17")  # age band: no guardian needed


async def test_student_registers_in_english(h):
    u = h.user(101, "Aida")
    await register_student(u)
    assert "Consent to the processing of personal data" in u.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.tg_id == 101)) is None  # not before consent
    await u.click("I agree")
    assert "Registration complete" in u.texts()[-2]
    assert ("Your name for certificates: Aida. If it is not right, change it in /profile."
            in u.texts()[-2])  # taken from Telegram: they are told, and where to fix it
    assert "/challenges" in u.last_text() or "/help" in u.last_text()
    async with h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == 101))
        assert (user.role, user.status, user.locale, user.faction, user.position, user.grade,
                user.org_name) == ("student", "active", "en", "happiness", "leader", "9",
                                   "School No. 7")
        assert user.consent_version == h.app.settings.consent_version
        assert user.consent_at is not None
        kinds = (await s.scalars(select(ActivityLog.kind))).all()
        assert "register" in kinds


@pytest.mark.parametrize("lang", ["Қазақша", "Русский"])
async def test_student_registers_in_kazakh_and_russian(h, lang):
    u = h.user(102)
    await register_student(u, lang, district={"Қазақша": "Семей", "Русский": "Семей"}[lang])
    assert "English" not in u.last_text()
    await u.click({"Қазақша": "Келісемін", "Русский": "Даю согласие"}[lang])
    async with h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == 102))
        assert user.locale == {"Қазақша": "kk", "Русский": "ru"}[lang]


# --- helpers -----------------------------------------------------------------------------

STICKER = {"file_id": "stk1", "file_unique_id": "stk1u", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False}
PHOTO = [{"file_id": "ph1", "file_unique_id": "ph1u", "width": 90, "height": 90}]
ORG_QUESTION = "Type the name of your school, college or university"
GRADE_QUESTION = "Which grade are you in?"
NOT_AVAILABLE = "Sorry, this command is not available to you."


async def start_in_english(u) -> None:
    await u.send("/start")
    await u.click("English")


async def reach_org_name(u) -> None:
    """A student in English up to the organisation name question."""
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Semey")
    assert ORG_QUESTION in u.last_text()


async def reach_grade(u) -> None:
    await reach_org_name(u)
    await u.send("School No. 7")
    await u.click("Happiness")
    await u.click("Faction member")
    assert GRADE_QUESTION in u.last_text()


async def stored_users(h) -> list[User]:
    async with h.app.sessionmaker() as s:
        return list((await s.scalars(select(User))).all())


async def fsm_state(h, tg_id: int) -> str | None:
    async with h.app.sessionmaker() as s:
        records = (await s.scalars(select(FsmRecord).where(
            FsmRecord.key.contains(f":{tg_id}:{tg_id}:")))).all()
    return records[0].state if records else None


def refusals(calls) -> list[str]:
    return [c.params.get("text") or "" for c in calls if c.method == "answerCallbackQuery"]


# --- happy paths -------------------------------------------------------------------------

async def test_student_in_russian_sees_russian_names_and_menu(h):
    u = h.user(103)
    await u.send("/start")
    await u.click("Русский")
    assert u.last_text() == "Кто вы в парламентском движении?"
    assert u.buttons() == ["Член парламента (школьник, студент)", "Координатор"]
    await u.click("Член парламента")
    await u.click("Колледж")
    await u.click("область Абай")
    assert "Выберите район или город" in u.last_text()
    await u.click("Курчатов")
    await u.send("Колледж Курчатова")
    assert set(u.buttons()) == {"Самопознание", "Счастье", "Закон и порядок",
                                "Забота (волонтёрство)"}
    await u.click("Забота")
    await u.click("Президент парламента")
    assert "На каком вы курсе?" in u.last_text()
    await u.send("3")
    await u.click("18 или старше")
    assert "Согласие на обработку персональных данных" in u.last_text()
    await u.click("Даю согласие")
    assert u.texts()[-2] == ("Регистрация завершена. Добро пожаловать!\nФИО для сертификатов: "
                             "Test. Если оно неверно, измените его в /profile.")
    assert u.last_text().startswith("Ваши команды (Член парламента")
    users = await stored_users(h)
    assert [(x.locale, x.org_type, x.faction, x.position, x.grade) for x in users] == [
        ("ru", "college", "care", "president", "3")]


async def test_student_in_kazakh_gets_kazakh_questions(h):
    u = h.user(104)
    await u.send("/start")
    await u.click("Қазақша")
    assert u.last_text() == "Парламент қозғалысындағы рөліңіз қандай?"
    await u.click("Парламент мүшесі")
    await u.click("Мектеп")
    await u.click("Абай облысы")
    await u.click("Семей")
    await u.send("№7 мектеп")
    assert set(u.buttons()) == {"Өзін-өзі тану", "Бақыт", "Құқық және тәртіп",
                                "Қамқорлық (еріктілік)"}
    await u.click("Құқық және тәртіп")
    await u.click("Фракция мүшесі")
    assert u.last_text().startswith("Нешінші сыныпта оқисыз?")
    await u.send("10")
    await u.click("16–17")
    assert "Дербес деректерді өңдеуге келісім" in u.last_text()
    await u.click("Келісемін")
    assert u.texts()[-2] == ("Тіркелу аяқталды. Қош келдіңіз!\nСертификаттағы аты-жөніңіз: "
                             "Test. Қате болса, /profile арқылы өзгертіңіз.")
    users = await stored_users(h)
    assert [(x.locale, x.faction, x.grade) for x in users] == [("kk", "law_order", "10")]


async def test_language_can_be_typed_at_the_first_step(h):
    u = h.user(105)
    await u.send("/start")
    await u.send("Русский")
    assert u.last_text() == "Кто вы в парламентском движении?"


async def test_consent_text_is_valid_html_with_the_version(h):
    u = h.user(106)
    await reach_grade(u)
    await u.send("9")
    await u.click("16–17")  # age band: no guardian needed
    call = h.api.last(106)
    assert f"(version {h.app.settings.consent_version})" in call.text
    assert call.text.count("<b>") == call.text.count("</b>") == 1
    assert "<" not in call.text.replace("<b>", "").replace("</b>", "")
    # it names everything a registration stores: the @username (people picker), the WhatsApp
    # number (a second channel) and the age category (minors), so its version moved on
    assert "@username" in call.text and "WhatsApp" in call.text
    assert "age category" in call.text
    assert h.app.settings.consent_version >= "2026-12"


async def test_registered_user_start_shows_the_menu(h):
    u = h.user(107)
    await register_student(u)
    await u.click("I agree")
    await u.send("/start")
    assert u.last_text().startswith("Your commands (Parliament member (student)):")
    assert "/profile" in u.last_text()
    assert len(await stored_users(h)) == 1


async def test_staff_registers_with_language_and_consent_only(h):
    u = h.user(900)
    await start_in_english(u)
    assert "Consent to the processing of personal data" in u.last_text()
    await u.click("I agree")
    assert "Registration complete" in u.texts()[-2]
    assert "/pending" in u.last_text()
    [staff] = await stored_users(h)
    assert (staff.role, staff.status, staff.region_id) == ("staff", "active", None)


# --- coordinators ------------------------------------------------------------------------

async def test_coordinator_request_reaches_staff_with_approve_and_reject(h):
    from tests.factories import make_staff

    await make_staff(h)
    u = h.user(301, "Bolat")
    await start_in_english(u)
    await u.click("Coordinator")
    assert u.last_text() == "At which level do you coordinate?"
    assert u.buttons() == ["Regional level", "District (city) level"]
    await u.click("District (city) level")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Kurchatov")
    await u.send("Kurchatov city education department")
    assert "Consent to the processing" in u.last_text()  # no faction, position, grade
    await u.click("I agree")
    assert "request to become a coordinator was sent to the centre" in u.last_text()

    [coordinator] = [x for x in await stored_users(h) if x.tg_id == 301]
    assert (coordinator.role, coordinator.status, coordinator.coordinator_level,
            coordinator.faction, coordinator.grade) == (
        "coordinator", "pending", "district", None, None)
    assert h.api.of("sendMessage", 900) == []  # only through the delivery queue
    assert await h.drain() == 1
    staff = h.user(900)
    text = staff.last_text()
    assert text.startswith("New coordinator request:")
    assert "Bolat" in text and "District (city) level" in text
    assert "Abai Region" in text and "Kurchatov City" in text
    assert "Kurchatov city education department" in text
    assert staff.buttons() == ["✅ Approve", "❌ Reject"]
    async with h.app.sessionmaker() as s:
        kinds = (await s.scalars(select(ActivityLog.kind))).all()
    assert "coordinator_request" in kinds
    # pending coordinators cannot use coordinator commands
    await u.send("/broadcast")
    assert u.last_text() == NOT_AVAILABLE


async def test_regional_coordinator_in_russian_skips_district(h):
    from tests.factories import make_staff

    await make_staff(h, locale="ru")
    u = h.user(302, "Айгуль")
    await u.send("/start")
    await u.click("Русский")
    await u.click("Координатор")
    assert u.last_text() == "На каком уровне вы координируете работу?"
    await u.click("Областной уровень")
    await u.click("Школа")
    await u.click("область Абай")
    assert "Напишите название" in u.last_text()  # no district question
    await u.send("Управление образования области Абай")
    await u.click("Даю согласие")
    assert "Спасибо! Ваша заявка" in u.last_text()
    await h.drain()
    staff = h.user(900)
    assert staff.last_text().startswith("Новая заявка на роль координатора:")
    assert "Областной уровень" in staff.last_text()
    assert staff.buttons() == ["✅ Одобрить", "❌ Отклонить"]
    [coordinator] = [x for x in await stored_users(h) if x.tg_id == 302]
    assert (coordinator.coordinator_level, coordinator.district_id, coordinator.locale) == (
        "regional", None, "ru")


# --- wrong input -------------------------------------------------------------------------

async def test_sticker_instead_of_org_name_asks_again(h):
    u = h.user(201)
    await reach_org_name(u)
    await u.send_content(sticker=STICKER)
    assert u.texts()[-2:] == ["Please answer with a text message.",
                              "Type the name of your school, college or university "
                              "(2–200 characters):"]
    await u.send("School No. 7")
    assert u.last_text() == "Which faction are you in?"


async def test_photo_instead_of_grade_asks_again(h):
    u = h.user(202)
    await reach_grade(u)
    await u.send_content(photo=PHOTO, caption="9")
    assert u.texts()[-2] == "Please answer with a text message."
    assert GRADE_QUESTION in u.last_text()


async def test_sticker_where_a_button_is_expected(h):
    u = h.user(203)
    await start_in_english(u)
    await u.send_content(sticker=STICKER)
    assert u.texts()[-2] == "Please choose one of the buttons."
    assert u.last_text() == "Who are you in the parliament movement?"
    assert u.buttons() == ["Parliament member (student)", "Coordinator"]


@pytest.mark.parametrize("name", ["A", " ", "x" * 201])
async def test_org_name_too_short_or_too_long(h, name):
    u = h.user(204)
    await reach_org_name(u)
    await u.send(name)
    assert u.texts()[-2] == "The name must be from 2 to 200 characters long."
    assert ORG_QUESTION in u.last_text()
    await u.send("y" * 200)  # the longest allowed
    assert u.last_text() == "Which faction are you in?"


async def test_a_telegram_name_without_letters_is_not_put_on_certificates(h):
    u = h.user(206, "😀😀😀")
    await register_student(u)
    await u.click("I agree")
    assert ("Your name for certificates is not set yet: please add it in /profile."
            in u.texts()[-2])
    async with h.app.sessionmaker() as s:
        assert (await s.scalar(select(User).where(User.tg_id == 206))).full_name is None


async def test_org_name_in_emoji_alone_is_refused(h):
    u = h.user(205)
    await reach_org_name(u)
    await u.send("😀😀😀")
    assert u.texts()[-2].startswith("Please type the name of your school, college or "
                                    "university in words")
    await u.send("№ 12 мектеп-гимназия")
    assert u.last_text() == "Which faction are you in?"


@pytest.mark.parametrize("grade", ["12", "0", "nine", "9a", "-1"])
async def test_grade_out_of_range_or_not_a_number(h, grade):
    u = h.user(205)
    await reach_grade(u)
    await u.send(grade)
    assert u.texts()[-2] == "Please type a number from 1 to 11."
    assert GRADE_QUESTION in u.last_text()
    await u.send("11")
    assert u.last_text() == "How old are you?"
    await u.click("16–17")
    assert "Consent to the processing" in u.last_text()


async def test_college_year_is_limited_to_five(h):
    u = h.user(206)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("College")
    await u.click("Abai Region")
    await u.click("Semey")
    await u.send("Semey Medical College")
    await u.click("Happiness")
    await u.click("Faction leader")
    assert "Which year of study are you in?" in u.last_text()
    await u.send("6")
    assert u.texts()[-2] == "Please type a number from 1 to 5."


async def test_unknown_region_typed_as_text(h):
    u = h.user(207)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.send("Atlantis")
    assert u.texts()[-2] == "I do not know such a region. Please choose one of the buttons."
    assert u.last_text() == "Choose your region (oblast or city):"
    assert len(u.buttons()) == 20  # 17 oblasts and 3 cities
    await u.send("abai region")  # a known name typed in any case is accepted
    assert "Choose your district or city" in u.last_text()


async def test_district_search_by_part_of_the_name(h):
    u = h.user(208)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    assert "Urzhar District" not in u.buttons()  # on the second page
    await u.send("urzh")
    assert u.buttons() == ["Urzhar District", "« Another region"]
    await u.send("Үржар")  # any of the three languages
    assert u.buttons() == ["Urzhar District", "« Another region"]
    await u.click("Urzhar")
    assert ORG_QUESTION in u.last_text()
    await u.send("Urzhar school")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User)) is None
    await u.click("Happiness")
    await u.click("Faction member")
    await u.send("8")
    await u.click("16–17")
    await u.click("I agree")
    [user] = await stored_users(h)
    assert h.app.places.district(user.district_id).names["en"] == "Urzhar District"


async def test_district_search_with_no_match_shows_the_whole_list(h):
    u = h.user(209)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    await u.send("<Zzz>")
    assert u.texts()[-2] == ("Nothing found for “&lt;Zzz&gt;”. Try another spelling or choose "
                             "from the list:")
    assert "Semey City" in u.buttons() and "▶️" in u.buttons()
    await u.click("▶️")  # pages still work
    assert "Urzhar District" in u.buttons()
    await u.click("Urzhar")
    assert ORG_QUESTION in u.last_text()


async def test_another_region_from_the_district_list(h):
    u = h.user(210)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("« Another region")
    assert u.last_text() == "Choose your region (oblast or city):"
    await u.click("Astana")
    assert "Choose your district or city" in u.last_text()
    assert "Semey City" not in u.buttons()


async def test_stale_buttons_from_earlier_steps_change_nothing(h):
    u = h.user(211)
    await start_in_english(u)
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Semey")
    # every button below belongs to an answered question
    for text in ("Coordinator", "College", "Abai Region", "Kurchatov"):
        calls = await u.click(text)
        assert refusals(calls) == ["This button is no longer active."], text
        assert ORG_QUESTION in u.last_text()
    await u.click("Русский")  # the language buttons switch the language at any time
    assert u.texts()[-2] == "Язык изменён: русский."
    assert "Напишите название" in u.last_text()  # the same question, now in Russian
    assert await fsm_state(h, 211) == "RegistrationSG:org_name"
    await u.click("English")
    assert ORG_QUESTION in u.last_text()
    await u.send("School No. 7")
    await u.click("Happiness")
    calls = await u.click("Care (volunteering)")  # the same keyboard, already answered
    assert refusals(calls) == ["This button is no longer active."]
    assert u.last_text() == "What is your position in the parliament?"
    # a forged value for the current question
    calls = await u.press("reg:pos:chairman")
    assert refusals(calls) == ["This button is no longer active."]
    await u.click("Faction member")
    await u.send("9")
    await u.click("16–17")  # age band: no guardian needed
    await u.click("I agree")
    [user] = await stored_users(h)
    assert (user.role, user.org_type, user.faction, user.district_id is not None) == (
        "student", "school", "happiness", True)


async def test_consent_button_outside_registration_does_nothing(h):
    u = h.user(212, language_code="en")
    calls = await u.press("cfm:consent:1")
    assert refusals(calls) == ["This button is no longer active."]
    assert await stored_users(h) == []


# --- leaving and coming back -------------------------------------------------------------

async def test_cancel_in_the_middle_stores_nothing(h):
    u = h.user(220)
    await reach_org_name(u)
    assert await fsm_state(h, 220) == "RegistrationSG:org_name"
    await u.send("/cancel")
    assert u.last_text() == "Cancelled. Send /help to see what you can do."
    assert await fsm_state(h, 220) is None
    assert await stored_users(h) == []
    await u.send("School No. 7")  # no longer an answer to anything
    assert u.last_text() == "I did not understand. Send /help to see what I can do."
    await u.send("/cancel")
    assert u.last_text() == "There is nothing to cancel."
    await u.send("/start")  # starting over asks from the beginning
    assert "Choose your language" in u.last_text()


async def test_consent_refused_stores_nothing(h):
    u = h.user(221)
    await reach_grade(u)
    await u.send("9")
    await u.click("16–17")  # age band: no guardian needed
    await u.click("I do not agree")
    assert u.last_text().startswith("Without your consent we cannot register you.")
    assert await stored_users(h) == []
    assert await fsm_state(h, 221) is None
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(ActivityLog))).all() == []
    calls = await u.click("I agree")  # changing one's mind on the old message is not consent
    assert refusals(calls) == ["This button is no longer active."]
    assert await stored_users(h) == []


async def test_registration_survives_a_restart(tmp_path, clock):
    from tests.conftest import STAFF_ID
    from tests.harness import make_harness

    path = str(tmp_path / "restart.db")
    first = await make_harness(path, clock, staff_ids=frozenset({STAFF_ID}))
    u = first.user(230)
    await u.send("/start")
    await u.click("Русский")
    await u.click("Член парламента")
    await u.click("Школа")
    await u.click("область Абай")
    await u.click("Семей")
    await first.close()

    second = await make_harness(path, clock, staff_ids=frozenset({STAFF_ID}))
    try:
        u = second.user(230)
        await u.send("Школа-гимназия № 7")  # the answer to the question asked before
        assert u.last_text() == "В какой вы фракции?"  # and still in Russian
        await u.click("Самопознание")
        await u.click("Лидер фракции")
        await u.send("7")
        await u.click("16–17")
        await u.click("Даю согласие")
        assert u.texts()[-2].startswith("Регистрация завершена. Добро пожаловать!\n")
        [user] = await stored_users(second)
        assert (user.locale, user.org_name, user.faction, user.grade) == (
            "ru", "Школа-гимназия № 7", "self_knowledge", "7")
    finally:
        await second.close()


async def test_language_switch_after_registration(h):
    from tests.factories import make_student

    await make_student(h, 240)
    u = h.user(240)
    await u.send("/language")
    await u.click("Қазақша")
    assert "Тіл өзгертілді: қазақша." in u.texts()
    [user] = await stored_users(h)
    assert user.locale == "kk"
    await u.send("/help")
    assert u.last_text().startswith("Сіздің командаларыңыз (Парламент мүшесі")
    assert "/profile — деректеріңізді көру және өзгерту" in u.last_text()
    await u.send("/invite")
    assert u.last_text() == "Кешіріңіз, бұл команда сізге қолжетімді емес."
    await u.send("/language")
    await u.click("Русский")
    assert "Язык изменён: русский." in u.texts()
    await u.send("/nosuchcommand")
    assert u.last_text() == "Я не знаю такой команды. Отправьте /help, чтобы увидеть свои команды."


@pytest.mark.parametrize("lang, age", [("kk", "жас санаты"), ("ru", "возрастную категорию")])
def test_the_consent_text_names_what_is_stored_in_kazakh_and_russian(lang, age):
    from pathlib import Path

    from babel.messages.pofile import read_po

    with (Path(__file__).parents[1] / f"locales/{lang}/LC_MESSAGES/core.po").open("rb") as f:
        catalog = read_po(f)
    [consent] = [m for m in catalog if m.id and "Consent to the processing" in m.id]
    for stored in ("Telegram id", "@username", "WhatsApp", age):
        assert stored in consent.string
