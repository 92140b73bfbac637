"""Registration scenarios, in each language, with every validation error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import ActivityLog, User


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


async def test_student_registers_in_english(h):
    u = h.user(101, "Aida")
    await register_student(u)
    assert "Consent to the processing of personal data" in u.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.tg_id == 101)) is None  # not before consent
    await u.click("I agree")
    assert "Registration complete" in u.texts()[-2]
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
    await u.click({"Қазақша": "Келісемін", "Русский": "Согласен"}[lang])
    async with h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == 102))
        assert user.locale == {"Қазақша": "kk", "Русский": "ru"}[lang]
