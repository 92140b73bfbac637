"""Coordinator requests (review 2026-12, L4): limited per person across /deleteme, and
collapsed into few staff notices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.callbacks import ApproveCD
from bot.notices.approvals import coordinator_requests_tick
from bot.services import coordinator_requests as requests
from bot.services.personal_data import export_user_data
from db.models import CoordinatorRequest, User
from tests.conftest import STAFF_ID
from tests.factories import make_staff
from tests.harness import make_harness

CARD = "New coordinator request:"
SUMMARY = "New coordinator requests waiting for your decision"
LIMIT = "Too many coordinator requests from this account: at most 2 a day."
SECOND_STAFF = 901


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator:
    """The attacker's loop is ~10 updates a round: the flood limit would hide the defect."""
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 flood_limit=100_000)
    await make_staff(harness)
    await make_staff(harness, SECOND_STAFF)
    yield harness
    await harness.close()


async def request_coordinator(u, org: str = "Hello staff, visit evil.example") -> bool:
    """/start → Coordinator → … → I agree; False when the bot refuses the request."""
    await u.send("/start")
    await u.click("English")
    calls = await u.click("Coordinator")
    if any(LIMIT in (c.params.get("text") or "") for c in calls):
        return False
    for button in ("District (city) level", "School", "Abai Region", "Kurchatov"):
        await u.click(button)
    await u.send(org)
    if any(b.startswith("➕ Add") for b in u.buttons()):  # the district has organisations: new
        await u.click("➕ Add")
    await u.click("I agree")
    return "request to become a coordinator was sent" in u.last_text()


async def erase(u) -> None:
    await u.send("/deleteme")
    await u.click("Yes, erase my data")
    assert "Your personal data was erased" in u.last_text()


def notices(h, tg_id: int) -> list[str]:
    return [t for t in h.api.texts(tg_id) if CARD in t or SUMMARY in t]


async def test_l4_request_loop_gives_bounded_staff_notices(h, clock):
    """The review's loop: register as coordinator → /deleteme → again. Five rounds gave ten
    notices to two staff members; now two requests a day get through and staff hear once."""
    attacker = h.user(700, "Spam Spammer")
    outcomes = []
    for _round in range(5):
        outcomes.append(await request_coordinator(attacker))
        await h.drain()  # the worker sends while the attacker types (M7 cancels what is unsent)
        if outcomes[-1]:
            await erase(attacker)
    assert outcomes == [True, True, False, False, False]
    await h.drain()
    clock.advance(hours=2)
    await coordinator_requests_tick(h.app)  # the second request was erased: nothing to sum up
    await h.drain()
    for staff in (STAFF_ID, SECOND_STAFF):
        assert len(notices(h, staff)) == 1, notices(h, staff)

    clock.advance(days=1)  # the limit is per day, and remembered only that long
    assert await request_coordinator(attacker)
    await h.drain()
    assert [len(notices(h, s)) for s in (STAFF_ID, SECOND_STAFF)] == [2, 2]


async def test_l4_many_requests_collapse_into_one_notice_per_staff_member(h, clock):
    people = [h.user(710 + i, f"Coordinator {i}") for i in range(6)]
    for u in people:
        assert await request_coordinator(u, org=f"Department {u.id}")
    await h.drain()
    assert [CARD in t for t in notices(h, STAFF_ID)] == [True]  # the first, with its buttons
    async with h.app.sessionmaker() as s:
        decided = await s.scalar(select(User.id).where(User.tg_id == 711))
    await h.user(STAFF_ID).press(ApproveCD(user_id=decided, ok=True).pack())
    async with h.app.sessionmaker() as s:  # /mydata shows the record while it names them
        waiting = await s.scalar(select(User).where(User.tg_id == 712))
        [mine] = (await export_user_data(s, waiting))["coordinator_requests"]
        assert mine["user_id"] == waiting.id and len(mine["person_key"]) == 64

    clock.advance(minutes=30)
    await coordinator_requests_tick(h.app)  # still within the quiet hour
    await h.drain()
    assert len(notices(h, STAFF_ID)) == 1
    clock.advance(minutes=31)
    await coordinator_requests_tick(h.app)
    await coordinator_requests_tick(h.app)  # once
    await h.drain()
    for staff in (STAFF_ID, SECOND_STAFF):
        assert len(notices(h, staff)) == 2
        assert f"{SUMMARY}: 4. /pending lists them." in notices(h, staff)[-1]
    await h.user(STAFF_ID).send("/pending")
    assert "Coordinators waiting for approval: 5." in h.api.texts(STAFF_ID)[-6]


async def test_l4_the_limit_holds_at_consent_too(h):
    """A form begun before the limit was reached is refused at "I agree"; nothing stored."""
    u = h.user(720)
    await u.send("/start")
    await u.click("English")
    await u.click("Coordinator")
    for button in ("District (city) level", "School", "Abai Region", "Kurchatov"):
        await u.click(button)
    await u.send("Kurchatov education department")
    async with h.app.sessionmaker() as s:  # meanwhile, two requests from another chat
        for _ in range(2):
            await requests.record(s, await requests.admit(s, 720, h.app.now()), None,
                                  h.app.now())
        await s.commit()
    await u.click("I agree")
    assert LIMIT in u.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.tg_id == 720)) is None


async def test_l4_requests_are_kept_without_the_telegram_id_and_only_a_day(h, clock):
    u = h.user(730)
    assert await request_coordinator(u)
    async with h.app.sessionmaker() as s:
        [row] = (await s.scalars(select(CoordinatorRequest))).all()
    assert "730" not in row.person_key and len(row.person_key) == 64
    assert row.user_id is None  # staff were told: nothing links the key to the person
    clock.advance(days=1, seconds=1)
    await coordinator_requests_tick(h.app)
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(CoordinatorRequest))).all() == []


async def test_l4_l7_a_demoted_staff_id_gets_no_request_notices(h, clock):
    """STAFF_ID stays in STAFF_IDS but was demoted with /demote: staff are who the database
    says, so neither a request's card nor the hour's summary reaches them."""
    other = h.user(SECOND_STAFF)
    await other.send(f"/demote {STAFF_ID}")
    await other.click("Yes, take staff rights away")
    await h.drain()
    for i in range(3):
        assert await request_coordinator(h.user(740 + i, f"Coordinator {i}"),
                                         org=f"Department {i}")
    await h.drain()
    clock.advance(minutes=61)
    await coordinator_requests_tick(h.app)
    await h.drain()
    assert notices(h, STAFF_ID) == []
    assert [CARD in t for t in notices(h, SECOND_STAFF)] == [True, False]
    assert f"{SUMMARY}: 2. /pending lists them." in notices(h, SECOND_STAFF)[-1]
