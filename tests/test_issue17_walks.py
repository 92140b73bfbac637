"""Issue 17, "Done means": the points already built walk end to end through the Dispatcher in
Kazakh and in Russian, where tests elsewhere walk them in one language only (or in English).

Approvals follow the tree (staff override, the right approver told, /pending by area and age),
the centre's contact, corrected certificates, guardians. The workbooks and the language
review's items are in tests/test_issue17_documents.py.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.callbacks import ApproveCD
from bot.services import certificates as certs
from db.models import Certificate, User
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff
from tests.harness import make_harness
from tests.test_certificates import attend, issued, pdf_text, sent_documents, student, webinar
from tests.test_people_tree import (
    CONTACT,
    SEP,
    alert_of,
    register_minor_kk,
    request_district_coordinator_ru,
    stored,
)


async def set_locale(h, tg_id: int, lang: str) -> None:
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == tg_id).values(locale=lang))
        await s.commit()
    h.app.users.forget(tg_id)


async def request_district_coordinator_kk(u, district: str = "Семей қаласы") -> None:
    """/start in Kazakh → Үйлестіруші → district level → … → consent."""
    await u.send("/start")
    for button in ("Қазақша", "Үйлестіруші", "Аудандық (қалалық) деңгей", "Мектеп",
                   "Абай облысы", district):
        await u.click(button)
    await u.send("№ 45 мектеп-гимназия")
    await u.click("Келісемін")


# --- approvals follow the tree ------------------------------------------------------------

async def test_kk_applicant_hears_who_decides_and_staff_override_the_regional(h, clock):
    """The applicant (kk) is told the region's coordinator got the request; the regional
    coordinator (ru) gets the card, staff do not; staff (kk) still see it in /pending with its
    area and age, decide it, and the regional coordinator's card then says it is decided."""
    await make_staff(h, locale="kk")
    await make_coordinator(h, 3001, level="regional", locale="ru")  # Abai Region
    applicant = h.user(3002, "Ерлан")
    await request_district_coordinator_kk(applicant)
    assert applicant.last_text().startswith(
        "Рақмет! Үйлестіруші болуға өтініміңіз облысыңыздың үйлестірушісіне жіберілді.")
    await h.drain()
    regional = h.user(3001)
    assert regional.last_text().startswith("Новая заявка на роль координатора:")
    assert "Ерлан" in regional.last_text() and "область Абай" in regional.last_text()
    assert regional.buttons() == ["✅ Одобрить", "❌ Отклонить"]
    staff = h.user(STAFF_ID)
    assert not any("өтінім" in t for t in staff.texts())  # staff are not the bottleneck

    clock.advance(hours=5)
    await staff.send("/pending")
    queue, card = staff.texts()[-2:]
    assert queue == ("Мақұлдауды күтіп тұрған үйлестірушілер: 1.\n"
                     "• Абай облысы — Семей қаласы: 1, ең ұзақ күтіп тұрғаны — 5 сағ 0 мин")
    assert "Ерлан" in card and card.endswith("\nКүтіп тұр: 5 сағ 0 мин")
    await staff.click("Мақұлдау")  # the override: staff decide a request of any region
    assert (await stored(h, 3002)).status == "active"
    await h.drain()
    assert applicant.last_text() == ("Үйлестіруші болуға өтініміңіз мақұлданды. "
                                     "Командаларыңызды көру үшін /help жіберіңіз.")
    async with h.app.sessionmaker() as s:
        pending_id = (await s.scalar(select(User.id).where(User.tg_id == 3002)))
    calls = await regional.press(ApproveCD(user_id=pending_id, ok=False).pack())
    assert alert_of(calls) == "По этой заявке решение уже принято."
    assert (await stored(h, 3002)).status == "active"  # her late Reject changes nothing


async def test_ru_pending_shows_each_area_with_its_age_and_the_decision_reaches_kk(h, clock):
    await make_staff(h)
    await make_coordinator(h, 3101, level="regional", locale="ru")
    first = h.user(3102, "Айгерим")
    await request_district_coordinator_kk(first)  # Семей
    clock.advance(days=1)
    second = h.user(3103, "Данияр")
    await request_district_coordinator_ru(second, district="Курчатов")
    clock.advance(hours=2)
    regional = h.user(3101)
    await regional.send("/pending")
    texts = regional.texts()
    queue = texts[-3]
    assert queue.startswith("Координаторов, ожидающих одобрения: 2.\n")
    lines = queue.splitlines()[1:]
    assert lines == ["• область Абай — город Семей: 1, дольше всех ждёт 1 дн. 2 ч",
                     "• область Абай — город Курчатов: 1, дольше всех ждёт 2 ч 0 мин"]
    assert "Айгерим" in texts[-2] and texts[-2].endswith("\nЖдёт: 1 дн. 2 ч")
    assert "Данияр" in texts[-1] and texts[-1].endswith("\nЖдёт: 2 ч 0 мин")
    async with h.app.sessionmaker() as s:
        ids = dict((await s.execute(select(User.tg_id, User.id).where(
            User.tg_id.in_([3102, 3103])))).all())
    await regional.press(ApproveCD(user_id=ids[3102], ok=True).pack())
    await regional.press(ApproveCD(user_id=ids[3103], ok=False).pack())
    await h.drain()
    assert first.last_text().startswith("Үйлестіруші болуға өтініміңіз мақұлданды.")
    assert second.last_text().startswith("Ваша заявка на роль координатора не одобрена.")
    await regional.send("/pending")
    assert regional.last_text() == "Нет координаторов, ожидающих одобрения."


# --- the centre's contact, the other language of each message -----------------------------

@pytest.fixture
async def hc(db_url, clock) -> AsyncIterator:
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 centre_contact=CONTACT, flood_limit=100_000)
    yield harness
    await harness.close()


async def test_ru_rejection_names_the_centres_contact(hc):
    await make_staff(hc, locale="ru")
    pending = await make_coordinator(hc, 3201, status="pending", locale="ru")
    await hc.user(STAFF_ID).press(ApproveCD(user_id=pending.id, ok=False).pack())
    await hc.drain()
    assert hc.user(3201).last_text().startswith(
        "Ваша заявка на роль координатора не одобрена. Если вы считаете это ошибкой, "
        "свяжитесь с центром: " + CONTACT)


async def test_kk_too_many_requests_points_to_the_centres_contact(hc):
    u = hc.user(3301)
    for _ in range(2):
        await request_district_coordinator_kk(u)
        await u.send("/deleteme")
        await u.click("Иә, деректерімді өшіру")
    await u.send("/start")
    await u.click("Қазақша")
    alert = alert_of(await u.click("Үйлестіруші"))
    assert alert == ("Бұл тіркелгіден үйлестіруші өтінімдері тым көп: тәулігіне 2 өтінімнен "
                     "аспайды. Кейінірек қайталап көріңіз немесе орталықтан шақыру сілтемесін "
                     "сұраңыз: " + CONTACT)


# --- certificates corrected ------------------------------------------------------------------

CORRECTED = {
    "kk": ("{old} сертификатының күші жойылды. Түзетілгені, № {new}, {name} атына берілді "
           "және қазір оған жіберіліп жатыр."),
    "ru": "Сертификат {old} отозван. Исправленный, № {new}, выдан: {name}, и сейчас отправляется.",
}
HOLDER_TOLD = {
    "kk": "🎓 Сіздің түзетілген сертификатыңыз № {new}. Ол күші жойылған № {old} сертификатының "
          "орнына берілді.",
    "ru": "🎓 Ваш исправленный сертификат № {new}. Он заменяет № {old}, который больше не "
          "действителен.",
}


@pytest.mark.parametrize(("staff_lang", "holder_lang"), [("kk", "ru"), ("ru", "kk")])
async def test_a_corrected_certificate_walks_in_both_languages(h, staff_lang, holder_lang):
    """Revoke with a reason, the name fixed, reissue: a new number, the old one revoked, the
    holder told in their language and sent the new file; /verify and /my follow."""
    cert = await issued(h, name="Алия Курманова", locale=holder_lang)
    await make_staff(h, locale=staff_lang)
    staff = h.user(STAFF_ID)
    await staff.send(f"/certificates revoke {cert.number} аты-жөні қате")
    assert staff.last_text().endswith(f"/certificates reissue {cert.number}")
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == cert.user_id)
                        .values(full_name="Әлия Құрманова"))
        await s.commit()
    h.app.users.forget(101)
    await staff.send(f"/certificates reissue {cert.number}")
    async with h.app.sessionmaker() as s:
        old, new = (await s.scalars(select(Certificate).order_by(Certificate.id))).all()
    assert old.revoked_at is not None and old.revoke_reason == "аты-жөні қате"
    assert staff.last_text() == CORRECTED[staff_lang].format(old=old.number, new=new.number,
                                                             name="Әлия Құрманова")
    await h.drain()
    doc, = sent_documents(h, 101)
    assert doc.text.startswith(HOLDER_TOLD[holder_lang].format(new=new.number, old=old.number))
    printed = pdf_text(doc.files["document"])
    assert "Әлия Құрманова" in printed and new.number in printed
    if holder_lang == "kk":  # review item 2: the printed formula
        assert "Осы сертификатпен" in printed and "қатысқаны үшін марапатталады" in printed
        assert "растайды" not in printed
    holder = h.user(101)
    await holder.send("/my")
    listing = holder.last_text()
    assert new.number in listing and old.number in listing
    assert ("күші жойылған" if holder_lang == "kk" else "отозван") in listing
    await holder.send(f"/verify {old.number}")
    assert holder.last_text().startswith("⛔") and "аты-жөні қате" in holder.last_text()


@pytest.mark.parametrize(("lang", "asked", "issue"), [
    ("kk", "«Вебинарға қатысу сертификаты» үлгісіне әлі ешкім қол қоймайды.",
     "✅ 1 сертификат беру"),
    ("ru", "«Сертификат участия в вебинаре» пока никто не подписывает.", "✅ Выдать: 1"),
])
async def test_a_bulk_issue_asks_who_signs_before_printing(h, lang, asked, issue):
    await make_staff(h, locale=lang)
    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, "Әлия Құрманова", locale=lang))
    staff = h.user(STAFF_ID)
    await staff.send(f"/certificates webinar {wid}")
    assert asked in staff.last_text(), staff.last_text()
    assert h.api.of("sendDocument", STAFF_ID) == []  # no nameless sample yet
    await staff.send("Директор | А. Сейітов")
    sample = h.api.last(STAFF_ID)
    assert sample.method == "sendDocument" and "А. Сейітов" in pdf_text(sample.files["document"])
    assert "Директор" in pdf_text(sample.files["document"])
    await staff.click(issue)
    await h.drain()
    doc, = sent_documents(h, 101)
    assert "А. Сейітов" in pdf_text(doc.files["document"])


@pytest.mark.parametrize(("lang", "source", "language"), [
    ("kk", "Вебинар «Өзін-өзі басқару» (№ {id})", "Қазақша"),
    ("ru", "Вебинар «Самоуправление» (№ {id})", "Русский"),
])
async def test_the_registry_names_the_webinar_in_the_staff_language(h, lang, source, language):
    cert = await issued(h, locale=lang)
    await make_staff(h, locale=lang)
    await h.user(STAFF_ID).send("/certificates export")
    call = h.api.last(STAFF_ID)
    assert call.method == "sendDocument"
    ws = load_workbook(io.BytesIO(call.files["document"])).active
    header = [c.value for c in ws[1]]
    row = next(ws.iter_rows(min_row=2, values_only=True))
    t = h.app.i18n.t
    assert row[header.index(t(lang, "Source"))] == source.format(id=cert.source_id)
    assert row[header.index(t(lang, "Language"))] == language
    assert certs.is_number(row[0])


# --- guardians ------------------------------------------------------------------------------

async def register_minor_ru(u) -> str:
    """A student under 14 registers in Russian; returns the guardian link's token."""
    import re

    await u.send("/start")
    for button in ("Русский", "Член парламента", "Школа", "область Абай", "город Семей"):
        await u.click(button)
    await u.send("Школа № 7")
    await u.click("Счастье")
    await u.click("Член (депутат) фракции")
    await u.send("6")
    await u.click("До 14 лет")
    await u.click("Даю согласие")
    text = next(t for t in reversed(u.texts()) if "start=g_" in t)
    return re.search(r"start=g_([\w-]+)", text).group(1)


async def test_ru_child_kk_parent_declines_and_the_account_is_erased(h):
    """The child registered in Russian: the parent (whose Telegram is in Kazakh) reads Russian
    first, Kazakh and English below; declining asks once more, then erases the account."""
    child = h.user(3401, "Алина")
    token = await register_minor_ru(child)
    parent = h.user(3402, "Ата-ана", language_code="kk")
    await parent.send(f"/start g_{token}")
    ru, kk, en = parent.last_text().split(SEP)
    assert ru.startswith("Здравствуйте! Алина") and kk.startswith("Сәлеметсіз бе! Алина")
    assert en.startswith("Hello! Алина")
    assert "оларды кез келген уақытта /deleteme арқылы өшіруге болады" in kk  # review item 5
    assert parent.buttons() == ["✅ Подтверждаю · ✅ Растаймын · ✅ I confirm",
                                "❌ Не подтверждаю · ❌ Растамаймын · ❌ I do not confirm"]
    await parent.click("Растамаймын")
    assert (await stored(h, 3401)).limited is True  # asked first: nothing erased yet
    await parent.click(parent.buttons()[0].split(" · ")[0])
    assert parent.last_text().split(SEP)[0] == (
        "Готово: учётная запись и её данные удалены. Спасибо за ответ.")
    assert await stored(h, 3401) is None
    await h.drain()
    assert child.last_text().startswith(
        "Ваш родитель или законный представитель не подтвердил вашу учётную запись, поэтому "
        "она удалена вместе со всеми данными.")


async def test_waiting_for_a_guardian_in_russian_and_the_note_survives_an_edit(h):
    child = h.user(3501, "Алина")
    token = await register_minor_ru(child)
    await child.send("/profile")
    assert "Статус: ожидает подтверждения родителя или законного представителя" in \
        child.last_text()
    assert "Статус: активен" not in child.last_text()
    await child.click("ФИО")
    await child.send("Алина Серикова")
    saved = child.last_text()
    assert saved.startswith("Сохранено.") and f"?start=g_{token}" in saved  # the note stays
    assert "Статус: ожидает подтверждения" in saved
    await child.send("/my")
    assert child.texts()[-2].startswith(
        "Ваша учётная запись: ожидает подтверждения родителя или законного представителя.")


async def test_waiting_for_a_guardian_in_kazakh_on_my_and_after_an_edit(h):
    child = h.user(3601, "Әлия")
    token = await register_minor_kk(child)
    await child.send("/my")
    assert child.texts()[-2].startswith(
        "Тіркелгіңіз: ата-анасының немесе заңды өкілінің растауын күтуде.")
    await child.send("/profile")
    await child.click("Фракция")
    await child.click("Қамқорлық")
    saved = child.last_text()
    assert saved.startswith("Сақталды.") and f"?start=g_{token}" in saved
    assert "Мәртебесі: ата-анасының немесе заңды өкілінің растауын күтуде" in saved

