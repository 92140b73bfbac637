"""Every flow of issue 16 on WhatsApp, driven as a WhatsApp person would: typing commands,
tapping reply buttons and list rows, typing numbers of numbered menus; what they see is what
the fake Cloud API recorded, and what is stored is read back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.models import Submission, User, WebinarRegistration
from tests.factories import make_coordinator, make_student
from tests.harness import make_harness
from tests.test_challenges import new_challenge
from tests.test_webinars import START, new_webinar, tick_and_drain
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

LANGS = pytest.mark.parametrize("lang", ["kk", "ru"])



async def wa_person(wh: WaHarness, address: str, lang: str, maker=make_student, **kw):
    """A registered WhatsApp person (student by default) and their FakeWaUser."""
    contact = await wh.wa.contacts.arrive(address, None)
    user = await maker(wh.h, contact.ext_id, locale=lang, **kw)
    from sqlalchemy import update

    from db.models import User
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(channel="whatsapp"))
        await s.commit()
    wh.h.app.users.forget(contact.ext_id)
    return user, wh.user(address)




JOIN = {"kk": "Қосылу", "ru": "Присоединиться"}
SUBMIT = {"kk": "Жұмысты жіберу", "ru": "Отправить работу"}


@LANGS
async def test_help_profile_and_a_text_entry_seen_in_my(wh, lang):
    cid = await new_challenge(wh.h, "challenge", content=("text", "link"))
    student, u = await wa_person(wh, "KZ.s1", lang)
    await u.send("/help")
    menu = u.last()  # commands to tap for people who do not type them
    assert menu.type == "text" and "\n1. /challenges — " in menu.body  # a numbered menu
    await u.choose("/profile")
    assert u.last().type == "list" and "School No. 1" in u.last().body
    await u.send("/challenges")
    await u.choose({"kk": "Менің сыныбым", "ru": "Мой класс"}[lang])
    await u.choose(SUBMIT[lang])
    await u.send("https://example.org/our-class")
    await u.choose("✅")  # sent as it is, no comment
    stored = await rows(wh, Submission)
    assert [(s.user_id, s.challenge_id) for s in stored] == [(student.id, cid)]
    await u.send("/my")
    assert {"kk": "Менің сыныбым", "ru": "Мой класс"}[lang] in u.last().body
    assert not wh.api.refused


@LANGS
async def test_a_webinar_registration_its_ics_and_a_reminder(wh, lang, clock):
    wid = await new_webinar(wh.h)
    student, u = await wa_person(wh, "KZ.s1", lang)
    await u.send("/webinars")
    assert {"kk": "Көшбасшылық", "ru": "Школа лидерства"}[lang] in u.last().body
    await u.choose("12.03 15:00")

    await u.choose({"kk": "Тіркелу", "ru": "Зарегистрироваться"}[lang])
    reg = await rows(wh, WebinarRegistration)
    assert [(r.webinar_id, r.user_id) for r in reg] == [(wid, student.id)]
    await u.choose("📅")
    doc = u.last()
    assert doc.type == "document"
    assert doc.raw["document"]["filename"].endswith(".ics")
    data, mime = wh.api.media[doc.media_id]
    assert data.startswith(b"BEGIN:VCALENDAR") and mime.startswith("text/calendar")
    clock.value = START - timedelta(hours=1)
    await tick_and_drain(wh.h)
    assert any({"kk": "Көшбасшылық", "ru": "Школа лидерства"}[lang] in t
               for t in u.texts()[-2:])


async def rows(wh: WaHarness, model) -> list:
    async with wh.h.app.sessionmaker() as s:
        return list((await s.scalars(select(model))).all())


@LANGS
async def test_a_whatsapp_coordinator_reviews_an_entry(wh, lang):
    cid = await new_challenge(wh.h, "challenge", content=("text", "link"))
    _, u = await wa_person(wh, "KZ.s1", lang)
    await u.send("/challenges")
    await u.choose({"kk": "Менің сыныбым", "ru": "Мой класс"}[lang])
    await u.choose(SUBMIT[lang])
    await u.send("https://example.org/our-class")
    await u.choose("✅")
    _, c = await wa_person(wh, "KZ.c1", lang, maker=make_coordinator, level="regional")
    await c.send("/review")
    assert "https://example.org/our-class" in " ".join(c.texts())
    await c.choose({"kk": "Мақұлдау", "ru": "Одобрить"}[lang])
    [entry] = await rows(wh, Submission)
    assert (entry.challenge_id, entry.status) == (cid, "approved")


@LANGS
async def test_stats_with_a_chart_and_the_xlsx_for_a_whatsapp_coordinator(wh, lang):
    _, c = await wa_person(wh, "KZ.c1", lang, maker=make_coordinator)
    await c.send("/stats")
    text, chart = c.sent()[-2:]
    assert {"kk": "Статистика", "ru": "Статистика"}[lang] in text.body
    assert chart.type == "image" and wh.api.media[chart.media_id][1] == "image/png"
    await c.send("/export_stats")
    doc = c.last()
    assert doc.type == "document" and doc.raw["document"]["filename"].endswith(".xlsx")
    data, mime = wh.api.media[doc.media_id]
    assert data.startswith(b"PK") and "spreadsheetml" in mime


@LANGS
async def test_a_certificate_pdf_arrives_as_a_document_and_verify_answers(wh, lang):
    from bot.scheduler import certificates_tick
    from bot.services import certificates as certs
    from db.models import Certificate
    from tests.test_certificates import attend, webinar
    student, u = await wa_person(wh, "KZ.s1", lang)
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == student.id).values(
            full_name="Әлия Құрманова"))
        await s.commit()
    wid = await webinar(wh.h)
    await attend(wh.h, wid, student)
    async with wh.h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, wh.h.app.now(),
                          wh.h.app.settings.tz)
        await s.commit()
    await certificates_tick(wh.h.app)
    await wh.h.drain()
    [cert] = await rows(wh, Certificate)
    doc = u.last()
    assert doc.type == "document", [x.type for x in u.sent()]
    assert doc.raw["document"]["filename"] == f"{cert.number}.pdf"
    assert wh.api.media[doc.media_id][0].startswith(b"%PDF")
    guest = wh.user("KZ.guest")
    await guest.send(f"/verify {cert.number}")
    assert "Әлия Қ." in guest.last().body and cert.number in guest.last().body


@LANGS
async def test_an_unfinished_whatsapp_flow_survives_linking_telegram(wh, lang):
    student, u = await wa_person(wh, "KZ.s1", lang)
    await u.send("/profile")
    await u.choose("✏️")  # the name, first row
    await u.send("/link")
    code = re.search(r"\b(\d{6})\b", u.last().body).group(1)
    tg = wh.h.user(555, language_code=lang)
    await tg.send(f"/link {code}")
    await u.send("Асанова Айгерім")
    async with wh.h.app.sessionmaker() as s:
        me = await s.get(User, student.id)
    assert (me.tg_id, me.full_name) == (555, "Асанова Айгерім")


@LANGS
async def test_staff_by_staff_whatsapp_list_the_templates(db_url, clock, lang):
    h = await make_harness(db_url, clock, flood_limit=1000, **WA_SETTINGS,
                           staff_whatsapp=frozenset({"77011234567"}))
    wh = await attach_whatsapp(h)
    try:
        w = wh.user("KZ.staff", wa_id="77011234567")
        await w.send("/start")
        await w.choose({"kk": "Қазақша", "ru": "Русский"}[lang])
        await w.choose({"kk": "Келісемін", "ru": "Даю согласие"}[lang])
        await w.send("/help")
        assert "/broadcast" in w.last().body
        listing, *_ = await w.send("/wa_templates")
        assert "mektep_announcement" in listing.body
    finally:
        await wh.close()
        await h.close()


@LANGS
async def test_a_word_instead_of_a_command_gets_the_menu_and_a_number_runs_one(wh, lang):
    _, c = await wa_person(wh, "KZ.c1", lang, maker=make_coordinator)
    answer = await c.send({"kk": "сәлем", "ru": "привет"}[lang])
    assert answer[0].body == wh.h.app.i18n.gettext(
        "I did not understand. Send /help to see what I can do.", locale=lang)
    menu = answer[-1]
    assert menu.type == "text" and "/stats" in menu.body  # more than 10: numbered
    await c.choose("/stats")
    assert c.last().type == "image"  # the chart after the numbers
    await c.choose("Fill in" if lang == "en" else "📝")
    assert c.last().body != answer[0].body  # the weekly report's form, not a refusal


BC = {"kk": ("Оқушылар", "✅ Таныстым", "Қазір жіберу"),
      "ru": ("Учащиеся", "✅ Получено", "Отправить сейчас")}


@LANGS
async def test_a_whatsapp_coordinator_broadcasts_and_a_whatsapp_student_acknowledges(wh, lang):
    from db.models import BroadcastAck
    _, c = await wa_person(wh, "KZ.c1", lang, maker=make_coordinator)
    student, u = await wa_person(wh, "KZ.s1", lang)
    audience, ack, send = BC[lang]
    await c.send("/broadcast")
    await c.send("Жұма 15:00 жиналыс")
    await c.choose(audience)
    await c.choose(ack)
    await c.choose(send)
    await wh.h.drain()
    news = u.last()
    assert news.body == "Жұма 15:00 жиналыс" and news.type == "buttons"
    assert news.titles == [ack]
    await u.choose(ack)
    assert [a.user_id for a in await rows(wh, BroadcastAck)] == [student.id]


@LANGS
async def test_a_whatsapp_juror_scores_by_typing_the_score(wh, lang):
    from bot.services import jury
    from db.models.challenges import JuryScore
    cid = await new_challenge(wh.h, "contest", content=("text",))
    await make_student(wh.h, 101, region_code="almaty_city")
    tg = wh.h.user(101)
    await tg.press(f"ch:submit:{cid}:")
    await tg.send("entry of 101")
    await tg.click("Send without a comment")
    await wh.h.user(900).press("rv:ok:1:")
    juror, u = await wa_person(wh, "KZ.j1", lang)
    async with wh.h.app.sessionmaker() as s:
        await jury.set_criteria(s, cid, "Идея | Идея | Idea", None)
        await jury.add_juror(s, wh.h.app.challenge_notices, cid, juror.tg_id, None,
                             wh.h.app.now())
        await s.commit()
    await wh.h.drain()
    await u.choose({"kk": "Бағалауды бастау", "ru": "Начать оценку"}[lang])
    assert "entry of 101" in " ".join(u.texts()[-3:])
    scores = u.last()  # a score is typed as itself
    assert scores.body.count(" · ") == 10 and "1. 0" not in scores.body  # 0 · 1 · … · 10
    await u.send("8")
    [score] = await rows(wh, JuryScore)
    assert (score.juror_id, score.score) == (juror.id, 8)


GUARDIAN = {"kk": ("Қазақша", "Парламент мүшесі", "Мектеп", "Абай облысы", "Семей", "№3 мектеп",
                    "Қамқорлық", "Фракция мүшесі", "14 жасқа дейін", "Келісемін"),
            "ru": ("Русский", "Член парламента", "Школа", "Абай", "Семей", "Школа № 3",
                   "Забота", "Член (депутат)", "До 14 лет", "Даю согласие")}


@LANGS
async def test_a_minor_registers_and_a_guardian_confirms_over_whatsapp(wh, lang):
    language, role, org, region, district, school, faction, position, age, agree = \
        GUARDIAN[lang]
    u = wh.user("KZ.minor", "Dana")
    await u.send("/start")
    await u.choose(language)
    for option in (role, org, region, district):
        await u.choose(option)
    await u.send(school)
    await u.choose(faction)
    await u.choose(position)
    await u.send("7")
    await u.choose(age)
    await u.choose(agree)
    limited = next(t for t in u.texts() if "start%20g_" in t)
    # a WhatsApp link to this bot, the command typed in (not t.me, which names no bot here)
    link = re.search(r"https://wa\.me/77000000000\?text=%2Fstart%20(g_[\w-]+)", limited)
    assert link is not None, limited
    [minor] = [x for x in await rows(wh, User) if x.full_name == "Dana"]
    assert (minor.limited, minor.age_band) == (True, "u14")
    parent = wh.user("KZ.parent", "Parent")
    await parent.send(f"/start {link.group(1)}")
    assert f"Dana ({school})" in " ".join(parent.texts()[-2:])  # long: its text comes first
    await parent.choose({"kk": "Растаймын", "ru": "Подтверждаю"}[lang])
    await wh.h.drain()
    async with wh.h.app.sessionmaker() as s:
        minor = await s.get(User, minor.id)
    assert minor.limited is False and minor.guardian_consent_at is not None


@LANGS
async def test_video_and_document_entries_are_stored_and_shown_to_a_reviewer(wh, lang):
    from tests import fake_whatsapp as fw
    await new_challenge(wh.h, "challenge", content=("video", "document"), max_submissions=2)
    _, u = await wa_person(wh, "KZ.s1", lang)
    video = wh.api.add_media(b"\x00\x00\x00\x18ftypmp4 our video", "video/mp4")
    essay = wh.api.add_media(b"%PDF-1.7 our essay", "application/pdf")
    for message in (fw.media("video", video, "video/mp4", caption="Видео"),
                    fw.media("document", essay, "application/pdf", filename="essay.pdf")):
        await u.send("/challenges")
        await u.choose({"kk": "Менің сыныбым", "ru": "Мой класс"}[lang])
        await u.choose(SUBMIT[lang])
        await u.post(message)
        await u.choose("✅")
    entries = sorted(await rows(wh, Submission), key=lambda e: e.id)
    assert [e.content_kind for e in entries] == ["video", "document"]
    assert all(e.media[0]["file_id"].startswith("store:") for e in entries)
    _, c = await wa_person(wh, "KZ.c1", lang, maker=make_coordinator, level="regional")
    await c.send("/review")
    shown = [s for s in c.sent() if s.type in ("video", "document")]
    assert shown[0].type == "video" and wh.api.media[shown[0].media_id][1] == "video/mp4"
