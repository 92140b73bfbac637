"""Every command and every callback prefix of bot.access, walked for every role.

The tables grow as features are added; these tests read them at run time.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.access import CALLBACK_ROLES, COMMAND_ROLES
from bot.services.users import ROLES, STAFF
from db.models import ActivityLog, Delivery, FsmRecord, User
from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import BotHarness, make_harness

COMMAND_REFUSAL = "Sorry, this command is not available to you."
GUEST_REFUSAL = COMMAND_REFUSAL + "\nYou are not registered yet. Send /start."
BUTTON_REFUSAL = "Sorry, this button is not available to you."
# Telegram ids of one user per role.
ROLE_IDS = {"guest": 11, "student": 12, "pending": 13, "coordinator": 14, "staff": STAFF_ID}


@pytest.fixture
async def h(tmp_path, clock) -> AsyncIterator[BotHarness]:
    """The usual harness, with the flood limit out of the way of a long walk."""
    harness = await make_harness(str(tmp_path / "bot.db"), clock,
                                 staff_ids=frozenset({STAFF_ID}), flood_limit=100_000)
    await make_student(h := harness, ROLE_IDS["student"])
    await make_coordinator(h, ROLE_IDS["pending"], status="pending")
    await make_coordinator(h, ROLE_IDS["coordinator"])
    await make_staff(h)
    yield harness
    await harness.close()


async def snapshot(h: BotHarness) -> dict[str, Any]:
    """What a refused command or button must leave unchanged."""
    async with h.app.sessionmaker() as s:
        users = [
            {c.key: getattr(u, c.key) for c in User.__table__.columns if c.key != "updated_at"}
            for u in (await s.scalars(select(User).order_by(User.id))).all()
        ]
        fsm = [(r.key, r.state, r.data) for r in
               (await s.scalars(select(FsmRecord).order_by(FsmRecord.key))).all()]
        return {
            "users": users, "fsm": fsm,
            "activity": await s.scalar(select(func.count()).select_from(ActivityLog)),
            "deliveries": await s.scalar(select(func.count()).select_from(Delivery)),
        }


def test_the_access_tables_name_only_known_roles():
    for table in (COMMAND_ROLES, CALLBACK_ROLES):
        for name, roles in table.items():
            assert roles and set(roles) <= set(ROLES), name


def test_every_role_has_a_user():
    assert set(ROLE_IDS) == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_for_every_role(h, role):
    u = h.user(ROLE_IDS[role], language_code="en")
    wrongly_refused, not_refused, changed = [], [], []
    refusal = GUEST_REFUSAL if role == "guest" else COMMAND_REFUSAL
    for command, allowed_roles in sorted(COMMAND_ROLES.items()):
        before = await snapshot(h)
        calls = await u.send(f"/{command}")
        replies = [c.text for c in calls if c.method == "sendMessage" and c.chat_id == u.id]
        if role in allowed_roles:
            if refusal in replies:
                wrongly_refused.append(command)
            await u.send("/cancel")  # leave whatever flow the command opened
        else:
            if replies != [refusal] or len(calls) != 1:
                not_refused.append((command, [c.method for c in calls], replies))
            if await snapshot(h) != before:
                changed.append(command)
    assert not wrongly_refused, f"{role} was refused commands of its role"
    assert not not_refused, f"{role} was not refused"
    assert not changed, f"a refused command changed data for {role}"


@pytest.mark.parametrize("role", ROLES)
async def test_forged_callbacks_are_refused_for_other_roles(h, role):
    u = h.user(ROLE_IDS[role], language_code="en")
    prefixes = [p for p, allowed in sorted(CALLBACK_ROLES.items()) if role not in allowed]
    for prefix in [*prefixes, "nosuchprefix", ""]:
        before = await snapshot(h)
        calls = await u.press(f"{prefix}:1:1:1")
        assert [(c.method, c.params.get("text"), c.params.get("show_alert"))
                for c in calls] == [("answerCallbackQuery", BUTTON_REFUSAL, True)], prefix
        assert await snapshot(h) == before, prefix


@pytest.mark.parametrize(("locale", "text"), [
    ("kk", "Кешіріңіз, бұл команда сізге қолжетімді емес."),
    ("ru", "Извините, эта команда вам недоступна."),
])
async def test_refusal_is_in_the_users_language(h, locale, text):
    await make_student(h, 20, locale=locale)
    u = h.user(20, language_code="en")  # the stored language wins over Telegram's
    staff_only = next(c for c, roles in sorted(COMMAND_ROLES.items()) if "student" not in roles)
    await u.send(f"/{staff_only}")
    assert u.last_text() == text


def _handler_filters(h: BotHarness, observer: str) -> list[Any]:
    found, routers = [], [h.app.dp]
    while routers:
        router = routers.pop()
        routers.extend(router.sub_routers)
        for handler in getattr(router, observer).handlers:
            found.extend(f.callback for f in handler.filters or [])
    return found


async def test_every_command_handler_is_in_the_table(h):
    from aiogram.filters import Command

    commands = set()
    for flt in _handler_filters(h, "message"):
        if isinstance(flt, Command):
            commands.update(c for c in flt.commands if isinstance(c, str))
    assert "start" in commands and "help" in commands
    assert not commands - set(COMMAND_ROLES), "commands with a handler but no access rule"


async def test_every_callback_handler_prefix_is_in_the_table(h):
    from aiogram.filters.callback_data import CallbackQueryFilter

    prefixes = {flt.callback_data.__prefix__ for flt in _handler_filters(h, "callback_query")
                if isinstance(flt, CallbackQueryFilter)}
    assert "reg" in prefixes
    assert not prefixes - set(CALLBACK_ROLES), "buttons with a handler but no access rule"


async def test_staff_help_lists_every_staff_only_command(h):
    """/help is where staff look for a command: none of theirs may be missing from it."""
    staff_only = {c for c, roles in COMMAND_ROLES.items() if roles == {STAFF}}
    await h.user(STAFF_ID, language_code="en").send("/help")
    listed = set(re.findall(r"^/(\w+) — ", h.api.last(STAFF_ID).text, re.MULTILINE))
    assert staff_only - listed == set()
    assert {"verify", "export_challenge", "export_webinar", "promote", "demote"} <= listed


@pytest.mark.parametrize("role", [r for r in ROLES if r != STAFF])
async def test_l7_demote_is_staff_only(h, role):
    """/demote and its confirmation button: staff only, in the one table and in practice."""
    assert COMMAND_ROLES["demote"] == {STAFF} and CALLBACK_ROLES["dmt"] == {STAFF}
    u = h.user(ROLE_IDS[role], language_code="en")
    before = await snapshot(h)
    await u.send(f"/demote {STAFF_ID}")
    assert u.last_text() == (GUEST_REFUSAL if role == "guest" else COMMAND_REFUSAL)
    calls = await u.press(f"dmt:{STAFF_ID}:1")
    assert calls[-1].params.get("text") == BUTTON_REFUSAL
    assert await snapshot(h) == before
