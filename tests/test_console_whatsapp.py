"""`python -m bot console --channel whatsapp`: the console shows what a WhatsApp person sees
(reply buttons, lists, numbered menus, rendered by the transport's own renderer) and takes
what they would do (a tap as a number or a title, a numbered menu's number as text)."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.config import Settings
from bot.console import run_console
from db.engine import create_engine
from db.models import User, WaContact
from handlers import setup_routers

REGISTRATION_KK = [
    "/start",
    "Қазақша",  # three languages: reply buttons, tapped by title
    "1",  # "Парламент мүшесі…": a cut title, tapped by number
    "Мектеп",
    "1",  # 20 regions: a numbered menu, its number sent as text → Абай облысы
    "1",  # Семей қаласы
    "№7 мектеп",
    "Бақыт",  # four factions: a list row, tapped by title
    "/buttons",  # the position buttons again…
    "3",  # …and a number taps one: Фракция мүшесі
    "9",  # the grade is a typed number (no buttons to tap)
    "16–17",
    "Келісемін",  # "✅ Келісемін": typed without the mark
]


async def test_registration_in_kazakh_through_the_whatsapp_console(db_url, tmp_path):
    url = db_url if "://" in db_url else f"sqlite+inline:///{db_url}"
    settings = Settings(database_url=url, _env_file=None, data_dir=tmp_path)
    out = io.StringIO()
    await run_console(settings, routers=setup_routers, channel="whatsapp", out=out,
                      stdin=io.StringIO("\n".join(REGISTRATION_KK) + "\n"))
    text = out.getvalue()
    assert "WhatsApp mode" in text
    assert "   [1] Қазақша\n   [2] Русский\n   [3] English" in text  # reply buttons
    assert "\n20. Шымкент қаласы\n" in text  # the regions' numbered menu…
    assert "Таңдағаныңыздың нөмірін жазыңыз." in text  # …and its hint, in Kazakh
    assert "   ☰ Таңдау\n   [1] Өзін-өзі тану" in text  # the factions' list
    assert "[3] Фракция мүшесі…" in text  # a title cut to WhatsApp's 20 characters
    assert "Батырмалардың бірін таңдаңыз" not in text  # no tap went astray
    engine = create_engine(url)
    async with engine.connect() as conn:
        contact = (await conn.execute(select(WaContact.id, WaContact.address))).one()
        user = (await conn.execute(select(
            User.channel, User.locale, User.status, User.org_name, User.grade, User.faction,
            User.position, User.consent_at.is_not(None)).where(
            User.tg_id == -contact.id))).one()
    await engine.dispose()
    assert contact.address == "KZ.console.1"
    assert tuple(user) == ("whatsapp", "kk", "active", "№7 мектеп", "9", "happiness",
                           "member", True)
