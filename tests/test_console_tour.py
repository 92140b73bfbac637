"""`make demo`: the scripted tour plays to its end, and each person got what the story says."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.console import run_console
from db.engine import create_engine
from db.models import BroadcastAck, Certificate, WebinarRegistration
from handlers import setup_routers

STUCK = ("Түсінбедім", "Батырмалардың бірін таңдаңыз", "no such file", "(usage:",
         "Бұл батырма енді жұмыс істемейді", "Traceback")


@pytest.mark.sqlite_only("the tour plays on a SQLite file of its own")
async def test_the_tour_plays_registration_contest_webinar_and_broadcast(tmp_path):
    out = io.StringIO()
    settings = Settings(_env_file=None, data_dir=tmp_path,
                        database_url=f"sqlite+inline:///{tmp_path}/ignored.db")
    await run_console(settings, routers=setup_routers, out=out, tour=True)
    text = out.getvalue()
    for sign in STUCK:
        assert sign not in text, sign
    story = [line for line in text.splitlines() if line.startswith("═══")]
    assert len(story) == 4, story
    # the coordinator's request waited for staff as buttons and was approved with them
    assert "(buttons waiting for 900:)" in text
    assert "bot → to 4001: Үйлестіруші болуға өтініміңіз мақұлданды." in text
    # the contest: a drawing from disk reached the reviewer; both winners got a certificate
    files = tmp_path / "tour" / "console-files"
    assert list(files.glob("*-to4001-photo.jpg"))
    for person in (3001, 3002):
        pdfs = list(files.glob(f"*-to{person}-D*.pdf"))
        assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
        assert f"bot → to {person}: 🏆 Құттықтаймыз!" in text
    # the webinar: reminders came one by one as the clock moved, then attendance was marked
    for left in ("24 сағ қалды", "1 сағ қалды", "10 мин қалды"):
        assert f"вебинарының басталуына {left}" in text
    assert text.count("Рақмет, қатысуыңыз белгіленді.") == 2
    assert text.count("Рақмет, белгіленді!") == 2  # the broadcast, acknowledged by both
    engine = create_engine(f"sqlite+inline:///{tmp_path}/tour/bot.db")
    async with engine.connect() as conn:
        certificates = await conn.scalar(select(func.count()).select_from(Certificate))
        acks = await conn.scalar(select(func.count()).select_from(BroadcastAck))
        attended = await conn.scalar(select(func.count()).select_from(WebinarRegistration)
                                     .where(WebinarRegistration.attended_at.is_not(None)))
    await engine.dispose()
    assert (certificates, acks, attended) == (4, 2, 2)
