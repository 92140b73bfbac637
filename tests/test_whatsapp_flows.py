"""Every flow of issue 16 on WhatsApp, driven as a WhatsApp person would: typing commands,
tapping reply buttons and list rows, typing numbers of numbered menus; what they see is what
the fake Cloud API recorded, and what is stored is read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import Submission, WebinarRegistration
from tests.conftest import STAFF_ID
from tests.factories import make_student
from tests.harness import make_harness
from tests.test_challenges import new_challenge
from tests.test_webinars import START, new_webinar, tick_and_drain
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

LANGS = pytest.mark.parametrize("lang", ["kk", "ru"])


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}), flood_limit=1000,
                           **WA_SETTINGS)
    wa = await attach_whatsapp(h)
    yield wa
    await wa.close()
    await h.close()


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


def show(u) -> None:
    for s in u.sent():
        print("---", s.type, s.titles, s.ids, (s.body or s.caption or "")[:400], s.raw.get("document", {}).get("filename"))




JOIN = {"kk": "Қосылу", "ru": "Присоединиться"}
SUBMIT = {"kk": "Жұмысты жіберу", "ru": "Отправить работу"}


@LANGS
async def test_help_profile_and_a_text_entry_seen_in_my(wh, lang):
    cid = await new_challenge(wh.h, "challenge", content=("text", "link"))
    student, u = await wa_person(wh, "KZ.s1", lang)
    await u.send("/help")
    assert "/profile" in u.last().body and "/my" in u.last().body
    await u.send("/profile")
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
