"""The local console as someone trying the bot uses it: buttons belong to whoever received
them, a number typed for a text question stays text, files go both ways, several lines make
one message, /clock brings what falls due, and start-up is quiet."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.console import Console
from bot.console.clock import parse_target
from bot.console.screen import Shown, choose
from db.models import User
from tests.harness import make_harness
from tests.test_cli import run_cli

ALMATY = ZoneInfo("Asia/Almaty")
STAFF = ["/as 900 Aigerim Staff", "/start", "English", "I agree"]


def student(tg_id: int, name: str, *, college: bool = False) -> list[str]:
    return [f"/as {tg_id} {name}", "/start", "English", "Parliament member",
            "College" if college else "School", "15", "1",
            "Turkistan College" if college else "School 45", "Happiness", "Faction member",
            "2" if college else "10", "16–17", "I agree"]


@pytest.fixture
async def console(tmp_path):
    h = await make_harness(str(tmp_path / "bot.db"), staff_ids=frozenset({900}),
                           flood_limit=10_000)
    out = io.StringIO()
    c = Console(h.app, h.api, out, files=tmp_path / "files")
    c.output = out  # type: ignore[attr-defined]
    yield c
    await h.close()


async def play(console: Console, *lines: str) -> str:
    out = console.output  # type: ignore[attr-defined]
    start = out.tell()
    for line in lines:
        console.print(f"[{console.user_id}]> {line}")
        await console.handle_line(line + "\n")
    return out.getvalue()[start:]


async def stored_user(console: Console, tg_id: int) -> User:
    async with console.app.sessionmaker() as session:
        return (await session.scalars(select(User).where(User.tg_id == tg_id))).one()


async def test_a_number_for_a_text_question_is_text_not_an_old_button(console):
    """The year of study follows a three-button menu: "2" is the year, not its button 2."""
    text = await play(console, *student(3003, "Nursultan", college=True))
    assert "Which year of study are you in?" in text
    assert "no longer active" not in text
    assert (await stored_user(console, 3003)).grade == "2"


async def test_buttons_sent_to_someone_else_wait_for_them(console):
    await play(console, *STAFF)
    text = await play(console, "/as 4001 Saule", "/start", "English", "Coordinator",
                      "District", "School", "15", "1", "District education office",
                      "I agree")
    assert "bot → to 900:" in text  # the request reached the staff member meanwhile
    text = await play(console, "/as 900")
    assert "(buttons waiting for 900:)" in text
    assert "[1] ✅ Approve" in text
    text = await play(console, "1")
    assert "New coordinator request:\n\nSaule" in text  # kept, not "…"
    assert "Aigerim Staff" in text
    assert any("request was approved" in t for t in console.api.texts(4001))
    assert (await stored_user(console, 4001)).status == "active"
    # pressed: it waits no more
    assert "Approve" not in await play(console, "/buttons")


async def test_files_both_ways_and_a_message_of_several_lines(console, tmp_path):
    picture = tmp_path / "poster.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"poster" * 100)
    await play(console, *student(3001, "Aruzhan"), *STAFF)
    text = await play(console, "/broadcast", f"/send {picture} Session on Saturday",
                      "Everyone", "No confirmation", "Send now")
    sent = [c for c in console.api.of("sendPhoto", 3001)]
    assert len(sent) == 1 and sent[0].params["caption"] == "Session on Saturday"
    saved = sorted((tmp_path / "files").glob("*-to3001-photo.png"))
    assert [p.read_bytes() for p in saved] == [picture.read_bytes()]
    assert f"-to3001-photo.png, {picture.stat().st_size:,} bytes)" in text
    await play(console, "/broadcast", "<<<", "Dear members!", "", "The session is at 10:00.",
               ">>>", "Everyone", "No confirmation", "Send now")
    assert console.api.texts(3001)[-1] == "Dear members!\n\nThe session is at 10:00."


async def test_clock_brings_the_weekly_digest_with_its_chart(console, tmp_path):
    await play(console, *STAFF)
    local = console.clock().astimezone(ALMATY)
    monday = (local + timedelta(days=7 - local.weekday())).replace(hour=9, minute=5)
    text = await play(console, f"/clock {monday:%Y-%m-%d %H:%M}")
    assert f"(the bot's clock: {monday:%a %d.%m.%Y} 09:0" in text
    assert any("Weekly report" in t for t in console.api.texts(900))
    charts = list((tmp_path / "files").glob("*-to900-stats_*.png"))
    assert len(charts) == 1 and charts[0].read_bytes().startswith(b"\x89PNG")
    assert "(usage: /clock" in await play(console, "/clock next week")


def test_clock_targets():
    now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert parse_target("+2d", now, ALMATY) == now + timedelta(days=2)
    assert parse_target("+1d12h", now, ALMATY) == now + timedelta(days=1, hours=12)
    assert parse_target("-30m", now, ALMATY) == now - timedelta(minutes=30)
    assert parse_target("2026-03-12 09:00", now, ALMATY) == datetime(2026, 3, 12, 4, 0,
                                                                      tzinfo=UTC)
    assert parse_target("12.03.2026 09:00", now, ALMATY) == datetime(2026, 3, 12, 4, 0,
                                                                      tzinfo=UTC)
    assert parse_target("+2x", now, ALMATY) is None
    assert parse_target("+", now, ALMATY) is None


def test_what_a_typed_line_presses():
    shown = Shown(1, 1, {}, "")
    scores = [(shown, {"text": str(n), "callback_data": f"s{n}"}) for n in range(11)]
    assert choose("8", scores)[1]["callback_data"] == "s8"  # the label, not button 8 (= 7)
    menu = [(shown, {"text": t, "callback_data": t}) for t in
            ("Regional level", "District (city) level", "« Back")]
    assert choose("2", menu)[1]["text"] == "District (city) level"
    assert choose("district", menu)[1]["text"] == "District (city) level"
    assert choose("4", menu) is None  # no such button: text for the bot
    assert choose("Sayram school", menu) is None


@pytest.mark.sqlite_only("starts the program on a SQLite file")
def test_start_up_prints_no_library_noise(tmp_path):
    result = run_cli("run", stdin="/quit\n",
                     env={"DATABASE_URL": f"sqlite+inline:///{tmp_path}/bot.db"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    before_prompt = result.stdout.split("Local console:")[0]
    assert "alembic" not in before_prompt and "INFO" not in result.stdout
