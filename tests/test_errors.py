"""One answer for every DomainError: handlers raise, handlers/shared/errors.py answers.

The handlers here are the test's own (a Routes of this module), in the production
Dispatcher behind the production errors router: what a person sees when a rule refuses
them, and what is kept of the update that was refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChallengeCD
from bot.routing import Routes
from bot.services.errors import DomainError
from db.models import BotState, ProcessedUpdate
from handlers import shared
from handlers.shared.errors import StaleButton, error_flags, require_state
from tests.factories import make_student
from tests.harness import BotHarness, make_harness

NOT_FOUND = {"en": "Not found. It may have been deleted.",
             "ru": "Не найдено. Возможно, запись удалена.",
             "kk": "Табылмады. Жойылған болуы мүмкін."}
STALE = {"en": "This button is no longer active.",
         "ru": "Эта кнопка больше не действует."}
CHOOSE_NOMINATION_RU = "Сначала выберите номинацию."

routes = Routes(__name__)


class Flow(StatesGroup):
    ask = State()


@routes.message(F.text == "lost")
async def lost(message: Message) -> None:
    raise DomainError("not_found")


@routes.message(F.text == "note, then fail")
async def note_then_fail(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(Flow.ask)
    await state.update_data(noted="yes")
    session.add(BotState(key="noted", value=str(message.from_user.id)))
    raise DomainError("not_found")


@routes.message(Flow.ask)
async def show_noted(message: Message, state: FSMContext) -> None:
    await message.answer(f"noted: {(await state.get_data()).get('noted')}")


@routes.callback_query(ChallengeCD.filter(F.action == "pop"), flags=error_flags(alert=True))
async def pop_up(cb: CallbackQuery) -> None:
    raise DomainError("not_found")


@routes.callback_query(ChallengeCD.filter(F.action == "say"))
async def say(cb: CallbackQuery) -> None:
    raise DomainError("not_found")


@routes.callback_query(ChallengeCD.filter(F.action == "final"),
                       flags=error_flags(clear_state=frozenset({"choose_nomination"})))
async def final_step(cb: CallbackQuery, callback_data: ChallengeCD, state: FSMContext) -> None:
    await state.set_state(Flow.ask)
    raise DomainError(callback_data.arg)


@routes.callback_query(ChallengeCD.filter(F.action == "stale"))
async def stale(cb: CallbackQuery, state: FSMContext) -> None:
    await require_state(state, Flow.ask)
    await cb.answer("still in the flow")


@routes.callback_query(ChallengeCD.filter(F.action == "toast"))
async def toast(cb: CallbackQuery) -> None:
    raise StaleButton(alert=False)


def routers_under_test():
    return [*(r.router() for r in shared.ROUTES), routes.router()]


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    harness = await make_harness(db_url, clock, routers=routers_under_test)
    try:
        yield harness
    finally:
        await harness.close()


@pytest.mark.parametrize("locale", ["en", "ru", "kk"])
async def test_a_refusal_in_a_message_handler_is_answered_in_the_users_language(h, locale):
    await make_student(h, 301, locale=locale)
    u = h.user(301)
    calls = await u.send("lost")
    assert [c.method for c in calls] == ["sendMessage"]
    assert u.last_text() == NOT_FOUND[locale]


async def test_a_flagged_button_gets_a_pop_up_and_another_a_new_message(h):
    await make_student(h, 302, locale="ru")
    u = h.user(302)
    popped = await u.press("ch:pop:1:")
    assert [(c.method, c.params.get("text"), c.params.get("show_alert")) for c in popped] == [
        ("answerCallbackQuery", NOT_FOUND["ru"], True)]
    said = await u.press("ch:say:1:")
    assert [c.method for c in said] == ["sendMessage", "answerCallbackQuery"]
    assert said[0].text == NOT_FOUND["ru"] and said[1].params.get("text") is None


async def test_clear_state_for_some_codes_ends_the_flow_only_for_those(h):
    await make_student(h, 303, locale="ru")
    u = h.user(303)
    await u.press("ch:final:1:not_found")
    assert u.last_text() == NOT_FOUND["ru"]
    assert await h.app.dp.storage.get_state(_key(h, 303)) == Flow.ask.state  # still there
    await u.press("ch:final:1:choose_nomination")
    assert u.last_text() == CHOOSE_NOMINATION_RU
    assert await h.app.dp.storage.get_state(_key(h, 303)) is None  # the flow ended


async def test_what_was_written_before_the_refusal_is_kept(h):
    await make_student(h, 304)
    u = h.user(304)
    await u.send("note, then fail")
    assert u.last_text() == NOT_FOUND["en"]
    await u.send("and now?")  # the state and its data were committed with the refusal
    assert u.last_text() == "noted: yes"
    async with h.app.sessionmaker() as s:
        assert (await s.get(BotState, "noted")).value == "304"


async def test_a_refused_update_is_recorded_as_handled(h):
    """Polling and the webhook record each handled update: a refused one is not handled
    again after a restart."""
    await make_student(h, 305)
    u = h.user(305)
    await h.feed({"update_id": 7_000_305, "message": u._message(text="lost")}, guard_update=True)
    assert u.last_text() == NOT_FOUND["en"]
    async with h.app.sessionmaker() as s:
        assert await s.get(ProcessedUpdate, 7_000_305) is not None


async def test_a_stale_button_gets_a_pop_up_or_a_short_notice(h):
    await make_student(h, 306, locale="ru")
    u = h.user(306)
    pressed = await u.press("ch:stale:1:")
    assert [(c.method, c.params.get("text"), c.params.get("show_alert")) for c in pressed] == [
        ("answerCallbackQuery", STALE["ru"], True)]
    toasted = await u.press("ch:toast:1:")
    assert [(c.method, c.params.get("text"), bool(c.params.get("show_alert")))
            for c in toasted] == [("answerCallbackQuery", STALE["ru"], False)]
    await u.press("ch:final:1:not_found")  # now in Flow.ask: the button works
    assert (await u.press("ch:stale:1:"))[-1].params.get("text") == "still in the flow"


async def test_a_refusal_is_not_counted_as_a_failure(h):
    from bot.webhook import metrics_of

    metrics = metrics_of(h.app)
    await make_student(h, 307)
    await h.user(307).send("lost")
    assert metrics.registry.get_sample_value("bot_handler_errors_total") == 0


def _key(h: BotHarness, user_id: int):
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=h.app.bot.id, chat_id=user_id, user_id=user_id)
