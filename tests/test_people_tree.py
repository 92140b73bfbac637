"""Issue 17, people: approvals follow the tree, the centre's contact, guardians.

Each walks through the Dispatcher as people would, in Kazakh and in Russian.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.callbacks import ApproveCD
from db.models import ActivityLog, User
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff
from tests.harness import make_harness

CONTACT = "+7 7172 55 00 00, @mektep_centre"
SEP = "\n\n— — —\n\n"


def alert_of(calls) -> str:
    return next(c.params.get("text") or "" for c in calls if c.method == "answerCallbackQuery")


async def stored(h, tg_id: int) -> User | None:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User).where(User.tg_id == tg_id))


async def request_district_coordinator_ru(u, region: str = "область Абай",
                                          district: str = "Семей") -> None:
    """/start in Russian → Coordinator → district level → … → consent."""
    await u.send("/start")
    await u.click("Русский")
    await u.click("Координатор")
    await u.click("Районный (городской) уровень")
    await u.click("Школа")
    await u.click(region)
    await u.click(district)
    await u.send("Школа-гимназия №45")
    await u.click("Даю согласие")
    assert "Ваша заявка на роль координатора отправлена" in u.last_text()


# --- approvals follow the tree ------------------------------------------------------------

async def test_a_regional_coordinator_decides_her_district_requests_in_kazakh(h, clock):
    await make_staff(h)
    await make_coordinator(h, 2001, level="regional", locale="kk")  # Abai Region
    applicant = h.user(2002, "Айгүл")
    await request_district_coordinator_ru(applicant)
    await h.drain()
    regional = h.user(2001)
    card = regional.last_text()
    assert card.startswith("Үйлестіруші болуға жаңа өтінім:\n\nАйгүл")
    assert "Аудандық (қалалық) деңгей" in card and "Абай облысы" in card
    assert regional.buttons() == ["✅ Мақұлдау", "❌ Қабылдамау"]
    # staff are not the bottleneck: the region's coordinator was told, staff were not
    assert not any("New coordinator request" in t for t in h.user(STAFF_ID).texts())

    clock.advance(days=2, hours=3)
    await regional.send("/pending")
    queue, request = regional.texts()[-2:]
    assert queue == ("Мақұлдауды күтіп тұрған үйлестірушілер: 1.\n"
                     "• Абай облысы — Семей қаласы: 1, ең ұзақ күтіп тұрғаны — 2 күн 3 сағ")
    assert request.endswith("\nКүтіп тұр: 2 күн 3 сағ") and "Айгүл" in request
    await regional.click("Мақұлдау")
    assert (await stored(h, 2002)).status == "active"
    assert "✅ Мақұлдаған:" in regional.last_text()
    await h.drain()
    assert applicant.last_text().startswith("Ваша заявка на роль координатора одобрена.")


async def test_a_regional_coordinator_in_russian_sees_only_her_region(h):
    staff = h.user(STAFF_ID)
    await make_staff(h)
    await make_coordinator(h, 2101, level="regional", locale="ru")  # Abai Region
    elsewhere = await make_coordinator(h, 2102, status="pending", region_code="almaty_city")
    regional_request = await make_coordinator(h, 2103, level="regional", status="pending")
    mine = await make_coordinator(h, 2104, status="pending", locale="ru")
    regional = h.user(2101)
    await regional.send("/pending")
    assert regional.texts()[-2].startswith("Координаторов, ожидающих одобрения: 1.\n• ")
    assert regional.texts()[-2].count("\n• ") == 1
    # another region's request, and a regional coordinator's own level: not hers
    for other in (elsewhere, regional_request):
        calls = await regional.press(ApproveCD(user_id=other.id, ok=True).pack())
        assert alert_of(calls) == (
            "Эта заявка не из вашей территории: решение по ней принимает центр.")
        assert (await stored(h, other.tg_id)).status == "pending"
    # a district coordinator approves nobody
    await make_coordinator(h, 2105, locale="ru")
    await h.user(2105).send("/pending")
    assert h.user(2105).last_text() == "Нет координаторов, ожидающих одобрения."
    await h.user(2105).press(ApproveCD(user_id=mine.id, ok=True).pack())
    assert (await stored(h, 2104)).status == "pending"
    # she rejects hers; the applicant hears it in Russian
    await regional.press(ApproveCD(user_id=mine.id, ok=False).pack())
    assert (await stored(h, 2104)).status == "rejected"
    await h.drain()
    assert h.user(2104).last_text().startswith("Ваша заявка на роль координатора не одобрена.")
    # staff still decide anyone, in every region; the queue names each area
    await staff.send("/pending")
    assert staff.texts()[-3].count("\n• ") == 2
    await staff.press(ApproveCD(user_id=elsewhere.id, ok=True).pack())
    await staff.press(ApproveCD(user_id=regional_request.id, ok=True).pack())
    assert (await stored(h, 2102)).status == (await stored(h, 2103)).status == "active"


async def test_a_region_without_its_coordinator_sends_requests_to_staff(h):
    await make_staff(h, locale="ru")
    applicant = h.user(2201, "Данияр")
    await request_district_coordinator_ru(applicant)
    await h.drain()
    assert h.user(STAFF_ID).last_text().startswith("Новая заявка на роль координатора:")
    async with h.app.sessionmaker() as s:  # logged as before: the request and nothing more
        assert await s.scalar(select(func.count()).select_from(ActivityLog).where(
            ActivityLog.kind == "coordinator_request")) == 1


# --- the centre's contact -----------------------------------------------------------------

@pytest.fixture
async def hc(db_url, clock) -> AsyncIterator:
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 centre_contact=CONTACT, flood_limit=100_000)
    yield harness
    await harness.close()


@pytest.mark.parametrize(("locale", "line"), [
    ("kk", "Облысты немесе ауданды өзгерту үшін орталыққа хабарласыңыз: "),
    ("ru", "Чтобы изменить область или район, обратитесь в центр: "),
])
async def test_a_coordinator_is_sent_to_the_centre_with_its_contact(hc, locale, line):
    await make_coordinator(hc, 2301, locale=locale)
    await hc.user(2301).send("/profile")
    assert hc.user(2301).last_text().endswith(line + CONTACT)


async def rejected_text(harness) -> str:
    await make_staff(harness)
    pending = await make_coordinator(harness, 2401, status="pending", locale="kk")
    await harness.user(STAFF_ID).press(ApproveCD(user_id=pending.id, ok=False).pack())
    await harness.drain()
    told = harness.user(2401).last_text()
    assert told.startswith("Үйлестіруші болуға өтініміңіз мақұлданбады.")
    return told


async def test_a_rejection_names_the_centres_contact(hc):
    told = await rejected_text(hc)
    assert ("Қате кетті деп ойласаңыз, орталыққа хабарласыңыз: " + CONTACT) in told


async def test_without_the_contact_a_rejection_sends_nobody_to_the_centre(h):
    told = await rejected_text(h)
    assert "орталыққа хабарласыңыз" not in told and "/deleteme" in told


async def test_too_many_requests_points_to_the_centres_contact(hc):
    u = hc.user(2501)
    for _ in range(2):
        await request_district_coordinator_ru(u)
        await u.send("/deleteme")
        await u.click("Да, удалить мои данные")
    await u.send("/start")
    await u.click("Русский")
    alert = alert_of(await u.click("Координатор"))
    assert alert.startswith("Слишком много заявок координатора с этой учётной записи")
    assert alert.endswith("попросите у центра ссылку-приглашение: " + CONTACT)


# --- guardians ------------------------------------------------------------------------------

async def register_minor_kk(u) -> str:
    """A student under 14 registers in Kazakh; returns the guardian link's token."""
    await u.send("/start")
    for button in ("Қазақша", "Парламент мүшесі", "Мектеп", "Абай облысы", "Семей қаласы"):
        await u.click(button)
    await u.send("№7 мектеп")
    await u.click("Бақыт")
    await u.click("Фракция мүшесі")
    await u.send("6")
    await u.click("14 жасқа дейін")
    await u.click("Келісемін")
    text = next(t for t in reversed(u.texts()) if "start=g_" in t)
    return re.search(r"start=g_([\w-]+)", text).group(1)


async def test_a_guardian_reads_the_childs_language_first_and_can_decline(h):
    child = h.user(2601, "Әлия")
    token = await register_minor_kk(child)
    parent = h.user(2602, "Parent", language_code="ru")
    await parent.send(f"/start g_{token}")
    kk, ru, en = parent.last_text().split(SEP)
    assert kk.startswith("Сәлеметсіз бе! Әлия") and ru.startswith("Здравствуйте! Әлия")
    assert en.startswith("Hello! Әлия")
    assert parent.buttons() == ["✅ Растаймын · ✅ Подтверждаю · ✅ I confirm",
                                "❌ Растамаймын · ❌ Не подтверждаю · ❌ I do not confirm"]
    await parent.click("Не подтверждаю")
    assert parent.last_text().split(SEP)[1].startswith(
        "Если вы не подтвердите, учётная запись (Әлия) будет удалена")
    assert (await stored(h, 2601)).limited is True  # asked first: nothing erased yet
    await parent.click("Да, удалить учётную запись")
    assert parent.last_text().split(SEP)[0] == (
        "Дайын: тіркелгі мен оның деректері өшірілді. Жауабыңызға рақмет.")
    assert await stored(h, 2601) is None  # erased as /deleteme erases: no Telegram id left
    async with h.app.sessionmaker() as s:
        erased = await s.scalar(select(User).where(User.full_name.is_(None),
                                                   User.status == "erased"))
        assert erased is not None and erased.guardian_token is None
        kinds = set(await s.scalars(select(ActivityLog.kind).where(
            ActivityLog.user_id == erased.id)))
        assert {"guardian_declined", "erase"} <= kinds
    await h.drain()
    assert child.last_text() == (
        "Ата-анаңыз немесе заңды өкіліңіз тіркелгіңізді растамады, сондықтан ол барлық "
        "деректеріңізбен бірге өшірілді. Олармен бірге /start арқылы қайта тіркеле аласыз.")
    await parent.send(f"/start g_{token}")  # the link is gone with the account
    assert parent.last_text() == ("Эта ссылка для подтверждения недействительна или уже "
                                  "использована.")
    await child.send("/profile")
    assert "/start" in child.last_text()  # a guest again


async def test_waiting_for_a_guardian_is_said_everywhere_and_the_link_stays(h):
    child = h.user(2701, "Әлия")
    token = await register_minor_kk(child)
    await child.send("/profile")
    assert "Мәртебесі: ата-анасының немесе заңды өкілінің растауын күтуде" in child.last_text()
    assert "Мәртебесі: белсенді" not in child.last_text()
    await child.click("Аты-жөні")
    await child.send("Әлия Серікқызы")
    saved = child.last_text()
    assert saved.startswith("Сақталды.") and f"?start=g_{token}" in saved  # the note stays
    await child.send("/language")
    await child.click("Русский")
    await child.send("/my")
    assert child.texts()[-2] == ("Ваша учётная запись: ожидает подтверждения родителя или "
                                 "законного представителя. Ссылка, которую нужно им переслать, "
                                 "— в /profile.")
    await child.send("/profile")
    assert "Статус: ожидает подтверждения родителя или законного представителя" in \
        child.last_text()


# --- pick people, not ids ---------------------------------------------------------------------

async def named(h, user: User, name: str) -> User:
    async with h.app.sessionmaker() as s, s.begin():
        row = await s.get(User, user.id)
        row.full_name = name
    h.app.users.forget(user.tg_id)
    return user


async def test_staff_promote_by_a_part_of_the_name_in_kazakh(h):
    from tests.factories import make_student

    await make_staff(h, locale="kk")
    staff = h.user(STAFF_ID)
    await named(h, await make_student(h, 2801, locale="kk"), "Айгүл Серікова")
    await named(h, await make_coordinator(h, 2802), "Айгүл Нұрланова")
    await staff.send("/promote айгүл")  # typed in lower case: still found
    assert staff.last_text() == "Бірнеше адам табылды. Кімді айтып тұрсыз?"
    assert [b.split(" · ")[0] for b in staff.buttons()] == ["Айгүл Нұрланова",
                                                          "Айгүл Серікова"]
    await staff.click("Айгүл Серікова")
    assert staff.last_text().startswith("Осы адамды орталық қызметкері етесіз бе?")
    assert "Айгүл Серікова" in staff.last_text()
    await staff.click("✅")
    assert (await stored(h, 2801)).role == "staff" and (await stored(h, 2802)).role != "staff"
    await staff.send("/promote Бауыржан")
    assert staff.last_text() == ("Аты-жөнінде «Бауыржан» бар тіркелген адам табылмады. Атының "
                                 "басқа бөлігін не @username атын жазыңыз немесе батырмамен "
                                 "таңдаңыз.")


async def test_staff_promote_by_a_shared_contact_in_russian(h):
    from tests.factories import make_student

    await make_staff(h, locale="ru")
    staff = h.user(STAFF_ID)
    await named(h, await make_student(h, 2901, locale="ru"), "Данияр Ахметов")
    await staff.send("/promote")
    assert staff.last_text().startswith("Кого сделать сотрудником центра? Напишите часть имени")
    await staff.send_content(contact={"phone_number": "+77001112233", "first_name": "Мама"})
    assert staff.last_text() == ("У этого контакта нет аккаунта Telegram. Поделитесь контактом "
                                 "из Telegram или напишите имя.")
    await staff.send_content(contact={"phone_number": "+77001112234", "first_name": "Данияр",
                                      "user_id": 2901})
    assert "Данияр Ахметов" in staff.last_text()
    await staff.click("✅")
    assert (await stored(h, 2901)).role == "staff"
    await staff.send("/promote 2901")  # the id still works, and says why not
    assert staff.last_text() == "Этот пользователь уже сотрудник центра."
